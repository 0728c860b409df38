"""Finding a code step's processes from the host, through /proc.

Inside a sandbox a process's pid is its namespace's, not the host's, so a child cannot
simply report its pid: each test gives the programs it starts a unique marker, in their
argv or their name (``comm``, which forked children inherit), and looks for it here.
"""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path


def new_marker() -> str:
    """A unique marker that is also an argument for ``sleep`` (ten minutes and a random
    fraction of a second) and short enough for a process name (``comm`` keeps 15 bytes)."""
    return f"600.{uuid.uuid4().int % 10**9:09d}"


def live_processes(marker: str) -> list[int]:
    """Host pids of live (not zombie) processes whose name or command line holds ``marker``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().decode("latin-1")
        except OSError:
            continue  # it ended while we looked
        state = stat.rsplit(")", 1)[1].split()[0]
        if marker in stat + cmdline and state != "Z":
            found.append(int(entry.name))
    return found


def wait_until_gone(marker: str, seconds: float = 5.0) -> list[int]:
    """The processes still holding ``marker`` after waiting up to ``seconds`` for none."""
    deadline = time.monotonic() + seconds
    while (left := live_processes(marker)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


class PeakCounter:
    """Counts, in a background thread, the most processes holding ``marker`` at once."""

    def __init__(self, marker: str) -> None:
        self.marker = marker
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="peak-counter")

    def __enter__(self) -> PeakCounter:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, len(live_processes(self.marker)))
            self._stop.wait(0.01)
