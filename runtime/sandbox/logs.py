"""Collecting what the code prints: kept up to a byte limit, passed on line by line."""

from __future__ import annotations

import logging
from collections.abc import Callable

logger = logging.getLogger(__name__)

# A "line" without a newline is passed on in pieces of this size, so one endless line
# cannot grow a buffer without bound.
MAX_LINE_BYTES = 8192


class LogCollector:
    """Feed it raw bytes as they arrive; ``text()`` returns the kept logs."""

    def __init__(self, limit: int, on_log: Callable[[str], None] | None) -> None:
        self.limit = limit
        self.on_log = on_log
        self.kept = bytearray()
        self.pending = bytearray()
        self.dropped = 0

    def feed(self, data: bytes) -> None:
        take = data[: max(self.limit - len(self.kept), 0)]
        self.kept += take
        self.pending += take
        while (index := self.pending.find(b"\n")) >= 0 or len(self.pending) >= MAX_LINE_BYTES:
            cut = index + 1 if index >= 0 else MAX_LINE_BYTES
            line = bytes(self.pending[:cut]).rstrip(b"\n")
            del self.pending[:cut]
            self._emit(line.decode("utf-8", "replace"))
        if len(take) < len(data):
            if not self.dropped:
                self._emit_pending()
                self._emit(self.marker_prefix())
            self.dropped += len(data) - len(take)

    def finish(self) -> str:
        """Pass on the last unterminated line and return the kept logs with any marker."""
        self._emit_pending()
        text = self.kept.decode("utf-8", "replace")
        if self.dropped:
            if text and not text.endswith("\n"):
                text += "\n"
            text += f"{self.marker_prefix()} ({self.dropped} bytes not kept)"
        return text

    def marker_prefix(self) -> str:
        return f"[logs truncated at {self.limit} bytes]"

    def _emit_pending(self) -> None:
        if self.pending:
            line = bytes(self.pending)
            self.pending.clear()
            self._emit(line.decode("utf-8", "replace"))

    def _emit(self, line: str) -> None:
        if self.on_log is None:
            return
        try:
            self.on_log(line)
        except Exception:
            # The callback belongs to the caller; its failure must not cost the execution.
            logger.exception("on_log callback failed")
