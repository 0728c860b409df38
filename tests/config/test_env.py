"""Settings helpers fail loudly, naming the variable and what would be valid."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import (
    database_from_url,
    env_bool,
    env_int,
    env_list,
    env_str,
    otlp_traces_endpoint,
)


def test_a_required_value_that_is_missing_names_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("TRIB_X", raising=False)
    with pytest.raises(ImproperlyConfigured, match="TRIB_X must be set"):
        env_str("TRIB_X", required=True)


def test_a_value_can_come_from_a_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("s3cret\n")
    monkeypatch.setenv("TRIB_X_FILE", str(secret))
    assert env_str("TRIB_X") == "s3cret"
    monkeypatch.setenv("TRIB_X", "other")
    with pytest.raises(ImproperlyConfigured, match="not both"):
        env_str("TRIB_X")


def test_an_unreadable_file_is_an_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TRIB_X_FILE", str(tmp_path / "missing"))
    with pytest.raises(ImproperlyConfigured, match="cannot be read"):
        env_str("TRIB_X")


@pytest.mark.parametrize(("raw", "value"), [("1", True), ("yes", True), ("off", False)])
def test_booleans_accept_the_usual_spellings(
    monkeypatch: pytest.MonkeyPatch, raw: str, value: bool
) -> None:
    monkeypatch.setenv("TRIB_B", raw)
    assert env_bool("TRIB_B", not value) is value


def test_a_bad_boolean_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRIB_B", "maybe")
    with pytest.raises(ImproperlyConfigured, match="TRIB_B='maybe' is not a boolean"):
        env_bool("TRIB_B", False)


def test_numbers_are_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRIB_N", "ten")
    with pytest.raises(ImproperlyConfigured, match="not a whole number"):
        env_int("TRIB_N", 1)
    monkeypatch.setenv("TRIB_N", "0")
    with pytest.raises(ImproperlyConfigured, match="below the minimum of 1"):
        env_int("TRIB_N", 1, minimum=1)


def test_lists_are_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRIB_L", "a, b,,c ")
    assert env_list("TRIB_L", []) == ["a", "b", "c"]


def test_a_postgres_url_becomes_a_database_entry() -> None:
    db = database_from_url("postgres://u%40x:p%2Fw@db.local:6543/trib?sslmode=require")
    assert (db["USER"], db["PASSWORD"], db["HOST"], db["PORT"], db["NAME"]) == (
        "u@x",
        "p/w",
        "db.local",
        "6543",
        "trib",
    )
    assert db["OPTIONS"] == {"sslmode": "require"}


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://h/db", "must start with postgres://"),
        ("postgres://h", "must name a database"),
        ("postgres://h:port/db", "invalid port"),
    ],
)
def test_a_bad_database_url_says_what_is_wrong(url: str, message: str) -> None:
    with pytest.raises(ImproperlyConfigured, match=message):
        database_from_url(url)


def test_the_otlp_traces_url_follows_the_opentelemetry_variables() -> None:
    base = "http://collector:4318/"
    assert otlp_traces_endpoint(traces="", base="", disabled=False) == ""  # off
    assert otlp_traces_endpoint(traces="", base=base, disabled=False) == (
        "http://collector:4318/v1/traces"
    )
    assert otlp_traces_endpoint(traces="https://t/x", base=base, disabled=False) == "https://t/x"
    assert otlp_traces_endpoint(traces="", base=base, disabled=True) == ""  # OTEL_SDK_DISABLED


def test_an_otlp_endpoint_that_is_not_http_names_the_variable() -> None:
    with pytest.raises(ImproperlyConfigured, match="OTEL_EXPORTER_OTLP_ENDPOINT must be an http"):
        otlp_traces_endpoint(traces="", base="collector:4317", disabled=False)
