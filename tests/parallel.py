"""The suite in several processes (pytest-xdist: ``scripts/test`` runs ``-n 2``).

What each xdist worker gets for itself, and why:

- **A test database**: pytest-django names it after the worker (``test_tributary_gw0``), and
  what the tests name after it follows (the chaos run's scratch database, advisory locks and
  NOTIFY channels, which PostgreSQL keeps per database).
- **A Redis database**: a stack flushes its Redis database before it starts
  (tests/stack.py ``flush_broker``), which would drop the other worker's queued tasks,
  channel messages and rate-limit counters. Worker N uses the configured database number
  minus N (15 and 14 by default), put in its environment before it starts, so its Django
  settings (broker, channel layer, cache) and every process it starts read it as usual.
- **Whole files, and the browser package as one unit**: a module's stack (worker,
  scheduler, server) starts once, and the browser package's server, worker, scheduler and
  Chromium (package-scoped fixtures) start once instead of once per visit of the package.
  Units are handed out largest first, each to the worker that is free.

Everything else a test starts listens on a free port or writes under its own tmp_path,
which xdist gives each worker.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit, urlunsplit

import pytest
from execnet import XSpec
from xdist.remote import Producer
from xdist.scheduler import LoadFileScheduling

# Packages whose tests share package-scoped fixtures: each runs on one worker, in one go.
WHOLE_PACKAGES = ("tests/browser/",)


class FileScheduling(LoadFileScheduling):
    """xdist's ``loadfile``, except that each of WHOLE_PACKAGES is one unit of work."""

    def _split_scope(self, nodeid: str) -> str:
        path = nodeid.split("::", 1)[0]
        return next((package for package in WHOLE_PACKAGES if path.startswith(package)), path)


def make_scheduler(config: pytest.Config, log: Producer) -> FileScheduling | None:
    """Our scheduling for ``-n N`` (xdist's ``load``) and ``--dist loadfile``; another
    ``--dist`` the caller chose is left to xdist."""
    if config.getoption("dist") not in ("load", "loadfile"):
        return None
    return FileScheduling(config, log)


def isolate_workers(specs: Sequence[XSpec], redis_url: str) -> None:
    """Give each worker (an execnet spec gwN) its own Redis database in its environment."""
    for spec in specs:
        index = int(str(spec.id).removeprefix("gw"))
        spec.env["REDIS_URL"] = worker_redis_url(redis_url, index)


def worker_redis_url(url: str, index: int) -> str:
    """``url`` with database number minus ``index``: worker 0 keeps the configured one."""
    if not url:
        return url  # the embedded default: no Redis, nothing to share
    parts = urlsplit(url)
    number = parts.path.strip("/") or "0"
    if parts.scheme not in ("redis", "rediss") or not number.isdigit():
        raise pytest.UsageError(
            f"Parallel tests need REDIS_URL as redis://host:port/N (got {url}): "
            "each worker uses database N minus its number."
        )
    database = int(number) - index
    if database < 0:
        raise pytest.UsageError(
            f"Worker gw{index} would use Redis database {database}: give TEST_REDIS_URL a "
            "database number of at least the worker count minus one (the default is 15)."
        )
    return urlunsplit(parts._replace(path=f"/{database}"))
