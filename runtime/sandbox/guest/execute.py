"""C3, the process that runs the user's code: reads the request, calls the handler, reports.

Runs INSIDE the sandbox. The result goes to fd 3 as a tag byte plus payload:
O<json output> | E<{message, traceback}> | I<{message}> | L<size> | M (out of memory).
"""

import contextlib
import json
import os
import sys
from pathlib import Path

# Unusual codes, so that code calling os._exit(3) is not taken for the runner.
EXIT_OOM = 113
EXIT_INTERNAL = 114


class Unavailable:
    """Last meta path finder: a clear message for a top-level module nobody provides."""

    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        if path is None:
            message = (
                f"Module {name!r} is not available to code steps; "
                "an admin can allow it in TRIBUTARY_CODE_PYTHON_PACKAGES"
            )
            raise ModuleNotFoundError(message, name=name)
        return None


def _write_result(tag: bytes, payload: str) -> None:
    # Everything printed goes first; closing fd 3 then tells the host the report is whole.
    _flush_stdio()
    data = tag + payload.encode("utf-8", "surrogatepass")
    view = memoryview(data)
    while view:
        view = view[os.write(3, view) :]
    os.close(3)


def _user_traceback(exc: BaseException, guest_dir: str) -> str:
    """The traceback without the runner's frames (or importlib's): only the user's code."""
    import traceback

    def prune(summary: traceback.TracebackException | None, seen: set[int]) -> None:
        if summary is None or id(summary) in seen:
            return
        seen.add(id(summary))
        kept = [frame for frame in summary.stack if _is_user_frame(frame.filename, guest_dir)]
        summary.stack = traceback.StackSummary.from_list(kept)
        prune(summary.__cause__, seen)
        prune(summary.__context__, seen)

    summary = traceback.TracebackException(type(exc), exc, exc.__traceback__)
    prune(summary, set())
    return "".join(summary.format())


def _is_user_frame(filename: str, guest_dir: str) -> bool:
    return not (filename.startswith(guest_dir + "/") or filename.startswith("<frozen importlib"))


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    name = type(exc).__name__
    return f"{name}: {text[0][:1000]}" if text else name


class Context(dict):
    """The handler's context: a dict whose keys also read as attributes, so
    ``context.idempotency_key`` works as it does in JavaScript."""

    def __getattr__(self, name: str) -> object:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"context has no {name!r}") from None


def _call_handler(source: str, event: object, context: object) -> object:
    import collections.abc
    import linecache
    import types

    linecache.cache["handler.py"] = (len(source), None, source.splitlines(True), "handler.py")
    module = types.ModuleType("handler")
    module.__file__ = "handler.py"
    sys.modules["handler"] = module
    # Running the user's code is this module's whole job; the OS layers contain it.
    exec(compile(source, "handler.py", "exec"), module.__dict__)  # noqa: S102
    handler = module.__dict__.get("handler")
    if not callable(handler):
        raise LookupError("Define a top-level function handler(event, context).")
    value = handler(event, context)
    if isinstance(value, collections.abc.Awaitable):
        import asyncio

        async def _wait() -> object:
            return await value

        value = asyncio.run(_wait())
    return value


def _prepare_stdio() -> None:
    import io

    for fd, name in ((1, "stdout"), (2, "stderr")):
        raw = io.FileIO(fd, "w", closefd=False)
        stream = io.TextIOWrapper(
            raw, "utf-8", "backslashreplace", line_buffering=True, write_through=True
        )
        setattr(sys, name, stream)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    sys.stdin = open(0, closefd=False)  # noqa: SIM115 - fd 0 lives as long as the process


def run_user_code(limits: dict[str, int], packages: str, guest_dir: str) -> None:
    """C3: read the request, run the handler, write the result on fd 3, exit."""
    chunks = []
    while chunk := os.read(0, 1 << 20):
        chunks.append(chunk)
    request = json.loads(b"".join(chunks))
    del chunks
    _prepare_stdio()
    sys.argv = ["handler.py"]
    # The runner's own modules are not for user code; declared packages are.
    sys.path[:] = [entry for entry in sys.path if entry != guest_dir]
    if packages and Path(packages).is_dir():
        sys.path.append(packages)
    sys.meta_path.append(Unavailable())
    try:
        value = _call_handler(request["source"], request["event"], Context(request["context"]))
    except MemoryError:
        _write_result(b"M", "")
        return
    except BaseException as exc:
        error = {"message": _one_line(exc), "traceback": _user_traceback(exc, guest_dir)}
        _write_result(b"E", json.dumps(error))
        return
    _write_output(value, limits["output_bytes"])


def _write_output(value: object, limit: int) -> None:
    try:
        text = json.dumps(value, allow_nan=False, ensure_ascii=False, separators=(",", ":"))
    except (ValueError, TypeError, RecursionError) as exc:
        message = f"The output is not JSON: {_one_line(exc)}"
        if isinstance(exc, ValueError) and "Out of range float" in str(exc):
            message = "The output contains NaN or Infinity, which is not valid JSON."
        _write_result(b"I", json.dumps({"message": message}))
        return
    encoded_size = len(text.encode("utf-8", "surrogatepass"))
    if encoded_size > limit:
        _write_result(b"L", str(encoded_size))
    else:
        _write_result(b"O", text)


def _flush_stdio() -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()


def run_c3(limits: dict[str, int], packages: str, guest_dir: str) -> None:
    """Run the user code and exit; never returns."""
    code = 0
    try:
        run_user_code(limits, packages, guest_dir)
    except MemoryError:
        code = EXIT_OOM
    except BaseException:
        code = EXIT_INTERNAL
    _flush_stdio()
    os._exit(code)
