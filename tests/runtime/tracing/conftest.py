"""The tracing tests' local OTLP/HTTP receiver and a stack that exports to it, shared by
every module here that traces (test_traces_off.py brings its own stack, without)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes import SmtpSink
from tests.runtime.tracing.receiver import OtlpReceiver, start_receiver
from tests.stack import Stack, flush_broker, stack_env


@pytest.fixture(scope="module")
def receiver() -> Iterator[OtlpReceiver]:
    receiver, server = start_receiver()
    yield receiver
    server.shutdown()


@pytest.fixture(scope="module")
def stack(
    django_db_setup: None,
    smtp_sink: SmtpSink,
    tmp_path_factory: pytest.TempPathFactory,
    receiver: OtlpReceiver,
) -> Iterator[Stack]:
    """The module's stack (and so its `web` server) with tracing on; batches are sent
    every 200 ms instead of every 5 s."""
    flush_broker()
    env = stack_env(
        smtp_sink.port, OTEL_EXPORTER_OTLP_ENDPOINT=receiver.url, OTEL_BSP_SCHEDULE_DELAY="200"
    )
    shared = Stack(env=env, logs=tmp_path_factory.mktemp("stack"))
    shared.start_worker()
    shared.start_scheduler()
    yield shared
    shared.stop()
