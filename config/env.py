"""Read settings from the environment, failing loudly on bad values.

Every helper accepts ``NAME`` or ``NAME_FILE`` (a path whose contents are the value), so
secrets can come from Docker/Kubernetes secret files instead of the environment.
"""

from __future__ import annotations

import ipaddress
import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _raw(name: str) -> str | None:
    file_name = os.environ.get(f"{name}_FILE")
    value = os.environ.get(name)
    if file_name and value is not None:
        raise ImproperlyConfigured(f"Set {name} or {name}_FILE, not both.")
    if file_name:
        try:
            return Path(file_name).read_text().rstrip("\r\n")
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE={file_name!r} cannot be read: {exc}") from exc
    return value


def env_str(name: str, default: str | None = None, *, required: bool = False) -> str:
    value = _raw(name)
    if value is None or (required and value == ""):
        if required:
            raise ImproperlyConfigured(f"{name} must be set (or {name}_FILE).")
        return default or ""
    return value


def env_bool(name: str, default: bool) -> bool:
    value = _raw(name)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a boolean; use 1/0, true/false, yes/no.")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    value = _raw(name)
    if value is None or value.strip() == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not a whole number.") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name}={number} is below the minimum of {minimum}.")
    return number


def env_list(name: str, default: list[str]) -> list[str]:
    value = _raw(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def env_path(name: str, default: Path) -> Path:
    value = _raw(name)
    return Path(value).expanduser().resolve() if value else default


def database_from_url(url: str, *, name: str = "DATABASE_URL") -> dict[str, Any]:
    """Turn ``postgres://user:pass@host:port/db?sslmode=...`` into a DATABASES entry.

    Only PostgreSQL is accepted: it is the one production database Tributary supports
    (the embedded default uses SQLite when no URL is given).
    """
    parts = urlsplit(url)
    if parts.scheme not in {"postgres", "postgresql"}:
        raise ImproperlyConfigured(
            f"{name} must start with postgres:// (got {parts.scheme or 'no scheme'!r}); "
            "leave it unset to use the embedded SQLite database."
        )
    database = unquote(parts.path.lstrip("/"))
    if not database:
        raise ImproperlyConfigured(f"{name} must name a database, e.g. postgres://host/tributary.")
    try:
        port = parts.port
    except ValueError:
        raise ImproperlyConfigured(f"{name} has an invalid port.") from None
    options = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": database,
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "",
        "PORT": str(port or ""),
        "OPTIONS": options,
        "CONN_MAX_AGE": 60,
        "CONN_HEALTH_CHECKS": True,
    }


def redis_url(name: str = "REDIS_URL") -> str:
    value = env_str(name)
    if value and urlsplit(value).scheme not in {"redis", "rediss", "unix"}:
        raise ImproperlyConfigured(f"{name} must start with redis://, rediss:// or unix://.")
    return value


def env_networks(name: str) -> list[str]:
    """Comma-separated CIDRs (10.0.0.0/8, 127.0.0.1/32...), each checked."""
    networks = env_list(name, [])
    for cidr in networks:
        try:
            ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            raise ImproperlyConfigured(
                f"{name}: {cidr!r} is not a network such as 10.0.0.0/8."
            ) from None
    return networks


def otlp_traces_endpoint(*, traces: str, base: str, disabled: bool) -> str:
    """The OTLP/HTTP URL spans are sent to ("" = tracing off), as the OpenTelemetry spec
    derives it: the traces variable as is, else the base endpoint plus /v1/traces."""
    if disabled or not (traces or base):
        return ""
    name = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT" if traces else "OTEL_EXPORTER_OTLP_ENDPOINT"
    url = traces or f"{base.rstrip('/')}/v1/traces"
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ImproperlyConfigured(
            f"{name} must be an http(s) URL such as http://collector:4318 (OTLP over HTTP)."
        )
    return url


QUEUE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


def env_queue_names(name: str) -> list[str]:
    """Celery queue names, comma-separated (lower case, digits, ``-`` and ``_``)."""
    names = env_list(name, [])
    for queue in names:
        if not QUEUE_NAME.match(queue):
            raise ImproperlyConfigured(
                f"{name}: {queue!r} is not a queue name; use up to 40 lower-case letters, "
                "digits, '-' and '_'."
            )
    return names


def env_queue_routes(name: str) -> dict[str, str]:
    """``kind=queue`` pairs, comma-separated: ``code.python=reports,http.request=io``."""
    routes: dict[str, str] = {}
    for pair in env_list(name, []):
        kind, _, queue = (part.strip() for part in pair.partition("="))
        if not kind or not QUEUE_NAME.match(queue):
            raise ImproperlyConfigured(
                f"{name}: {pair!r} is not kind=queue (e.g. code.python=reports; a queue name "
                "is up to 40 lower-case letters, digits, '-' and '_')."
            )
        routes[kind] = queue
    return routes
