"""A web server that a test may kill (a crash, not a goodbye) and start again on the same
port, beside the package's server, on the same database, broker and collected static."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.browser.conftest import Server
from tests.processes import ROOT, free_port, stop, wait_for_http


class RestartableServer:
    """`manage.py serve` on a fixed port, which a test may kill and start again."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = env | {"TRIBUTARY_PUBLIC_URL": self.url}
        self.logs = logs
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def log(self) -> Path:
        return self.logs / f"serve-{self.starts}.log"

    def start(self) -> None:
        self.starts += 1
        with self.log.open("wb") as output:
            self.process = subprocess.Popen(
                [sys.executable, "manage.py", "serve", "--port", str(self.port)],
                cwd=ROOT,
                env=self.env,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_for_http(f"{self.url}/login/", process=self.process, log=self.log)

    def kill(self) -> None:
        """A crash, not a goodbye: no close frames, the kernel drops the connections."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)

    def as_server(self) -> Server:
        assert self.process is not None
        return Server(url=self.url, process=self.process, log=self.log)
