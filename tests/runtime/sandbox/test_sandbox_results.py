"""The host-side parsing of what a sandbox reports: pure functions, hostile inputs."""

from __future__ import annotations

import pytest

from runtime.sandbox import Ending, Limits
from runtime.sandbox.exchange import Raw
from runtime.sandbox.logs import LogCollector
from runtime.sandbox.outcome import InvalidOutput, classify, parse_output


@pytest.mark.parametrize(
    "body",
    [b"NaN", b"[Infinity]", b'{"a": -Infinity}', b'"a\\u0000b"', b'{"\\u0000": 1}', b"[1,", b"\xff",
     b'"\\ud800"', b"[" * 100_000 + b"]" * 100_000],
)  # fmt: skip
def test_unstorable_outputs_are_refused(body: bytes) -> None:
    with pytest.raises(InvalidOutput):
        parse_output(body)


def test_storable_output_round_trips() -> None:
    assert parse_output('{"a": [1, 2.5, "é", null, true]}'.encode()) == {
        "a": [1, 2.5, "é", None, True]
    }


@pytest.mark.parametrize(
    ("raw", "outcome"),
    [
        (Raw(result=b'O{"x": 1}'), Ending.OK),
        (Raw(result=b"Ogarbage"), Ending.INVALID_OUTPUT),
        (Raw(result=b"E not json"), Ending.ERROR),
        (Raw(result=b"L99999999"), Ending.OUTPUT_TOO_LARGE),
        (Raw(result=b"M"), Ending.OOM),
        (Raw(result=b"O1", timed_out=True), Ending.TIMEOUT),
        (Raw(result_overflow=True), Ending.OUTPUT_TOO_LARGE),
        (Raw(exit_code=128 + 24), Ending.TIMEOUT),  # SIGXCPU
        (Raw(exit_code=128 + 9), Ending.KILLED),
        (Raw(exit_code=-9), Ending.KILLED),
        (Raw(exit_code=3), Ending.ERROR),  # the code's own exit status
        (Raw(exit_code=134, logs="FATAL ERROR: ... JavaScript heap out of memory"), Ending.OOM),
        (Raw(exit_code=0), Ending.ERROR),
        (Raw(), Ending.KILLED),
    ],
)
def test_classification(raw: Raw, outcome: Ending) -> None:
    assert classify(raw, Limits()).outcome is outcome


def test_the_python_runner_reports_oom_by_exit_code() -> None:
    assert classify(Raw(exit_code=113), Limits(), oom_exit=113).outcome is Ending.OOM


def test_logs_are_split_into_lines_and_truncated() -> None:
    lines: list[str] = []
    logs = LogCollector(20, lines.append)
    logs.feed(b"one\ntw")
    logs.feed(b"o\nthree \xc3")
    logs.feed(b"\xa9\nfour five six seven\n")
    text = logs.finish()
    assert lines == ["one", "two", "three é", "fou", "[logs truncated at 20 bytes]"]
    assert text.startswith("one\ntwo\nthree é\nfou\n")
    assert text.endswith("[logs truncated at 20 bytes] (17 bytes not kept)")


def test_an_endless_line_is_passed_on_in_pieces() -> None:
    lines: list[str] = []
    logs = LogCollector(100_000, lines.append)
    logs.feed(b"x" * 20_000)
    assert [len(line) for line in lines] == [8192, 8192]
    logs.finish()
    assert [len(line) for line in lines] == [8192, 8192, 3616]


def test_a_failing_callback_does_not_stop_collection() -> None:
    def explode(line: str) -> None:
        raise RuntimeError(line)

    logs = LogCollector(100, explode)
    logs.feed(b"a\nb\n")
    assert logs.finish() == "a\nb\n"
