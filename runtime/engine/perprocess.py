"""One instance per process of things that own threads (the live-event publisher, the
heartbeat): Celery's prefork children inherit the parent's objects but none of its
threads, so an instance made before a fork must be made again in the child."""

from __future__ import annotations

import os
import threading
from typing import ClassVar, Self


class PerProcess:
    """``Cls.get()`` returns this process's instance, made on first use."""

    _instances: ClassVar[dict[type, tuple[int, object]]] = {}
    _lock: ClassVar[threading.Lock] = threading.Lock()

    @classmethod
    def get(cls) -> Self:
        made = PerProcess._instances.get(cls)
        if made is None or made[0] != os.getpid():
            with PerProcess._lock:
                made = PerProcess._instances.get(cls)
                if made is None or made[0] != os.getpid():
                    made = (os.getpid(), cls())
                    PerProcess._instances[cls] = made
        return made[1]  # type: ignore[return-value]
