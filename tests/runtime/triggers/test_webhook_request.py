"""A webhook test sample becomes the request a client would send, read by the endpoint's
own code: what each kind of body turns into, and which headers are added or held back."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from runtime.kinds.contract import SampleRefused
from runtime.triggers.webhook.request import sample_payload


def read(sample: Any, *, methods: tuple[str, ...] = ("POST",), sensitive: bool = False) -> dict:
    return sample_payload(sample, methods=methods, path="/hooks/t0ken", keep_sensitive=sensitive)


def test_a_json_body_is_sent_compact_with_its_type_and_length() -> None:
    request = read({"body": {"id": 7, "name": "Zoë"}})
    raw = '{"id":7,"name":"Zoë"}'.encode()
    assert request == {
        "method": "POST",
        "path": "/hooks/t0ken",
        "query": {},
        "headers": {"content-type": "application/json", "content-length": str(len(raw))},
        "body": {"id": 7, "name": "Zoë"},
        "body_size": len(raw),
    }


@pytest.mark.parametrize(
    ("sample", "body"),
    [
        ({"body": "hello"}, "hello"),  # text/plain
        (
            {"headers": {"Content-Type": "application/x-www-form-urlencoded"}, "body": {"a": "1"}},
            {"a": "1"},
        ),
        ({"headers": {"Content-Type": "text/plain"}, "body": {"a": 1}}, '{"a":1}'),  # as a text
        ({"body": None}, None),
    ],
)
def test_each_body_reads_as_the_content_type_makes_it(sample: dict, body: Any) -> None:
    assert read(sample)["body"] == body


def test_a_binary_body_stays_base64() -> None:
    png = base64.b64encode(b"\x89PNG\r\n\x1a\n\xff").decode()
    request = read({"body": png, "body_encoding": "base64"})
    assert (request["body"], request["body_encoding"], request["body_size"]) == (png, "base64", 9)
    assert request["headers"]["content-type"] == "application/octet-stream"


def test_query_values_arrive_as_strings_and_repeated_names_as_lists() -> None:
    assert read({"query": {"page": 2, "tag": ["a", "b"]}})["query"] == {
        "page": "2",
        "tag": ["a", "b"],
    }


def test_cookie_and_authorization_are_held_back_as_by_the_endpoint() -> None:
    headers = {"Cookie": "s=1", "Authorization": "Bearer x", "X-Shop": "demo"}
    assert read({"headers": headers})["headers"] == {"x-shop": "demo"}
    assert read({"headers": headers}, sensitive=True)["headers"]["authorization"] == "Bearer x"


def test_the_method_defaults_to_the_first_allowed_and_must_be_allowed() -> None:
    assert read({}, methods=("PUT", "POST"))["method"] == "PUT"
    assert read({"method": "post"}, methods=("PUT", "POST"))["method"] == "POST"
    with pytest.raises(SampleRefused, match="accepts PUT, not DELETE"):
        read({"method": "DELETE"}, methods=("PUT",))


@pytest.mark.parametrize(
    "sample",
    [
        [1, 2],
        {"order_id": 1},
        {"query": "a=1"},
        {"body": "not base64!", "body_encoding": "base64"},
    ],
)
def test_what_no_request_could_be_is_refused(sample: Any) -> None:
    with pytest.raises(SampleRefused):
        read(sample)
