"""Task logs and GET /v1/client/fs/logs/<alloc> (nomad-api.md §5).

Framed answers are StreamFrame JSON objects concatenated with no separator; `Offset` is the file offset
after the frame's data (the recordings: 16 bytes "applier started\\n" -> Offset 16); `{}` heartbeats
while following. `plain=true` streams the raw bytes.
"""

from __future__ import annotations

import base64
import json
import threading
import time

from .gocompat import GoParseError, parse_bool, parse_int, rfc3339nano
from .server import Request, Response, text

FRAME_MAX = 64 * 1024


class LogStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.grew = threading.Condition(self._lock)
        self._buffers: dict[tuple[str, str, str], bytearray] = {}

    def write(self, alloc_id: str, task: str, stream: str, data: str | bytes) -> None:
        chunk = data.encode() if isinstance(data, str) else data
        with self.grew:
            self._buffers.setdefault((alloc_id, task, stream), bytearray()).extend(chunk)
            self.grew.notify_all()

    def line(self, alloc_id: str, task: str, stream: str, now_ns: int, level: str, message: str) -> None:
        """A task's own line, `<RFC3339> [LEVEL] <message>` (a task of another driver than dtle: dtle's
        tasks write nothing here, their lines go to the agent's log, agentlog.py)."""
        stamp = rfc3339nano(now_ns - now_ns % 1_000_000) or ""
        self.write(alloc_id, task, stream, f"{stamp} [{level}] {message}\n")

    def read(self, alloc_id: str, task: str, stream: str, start: int) -> bytes:
        with self._lock:
            return bytes(self._buffers.get((alloc_id, task, stream), b"")[start:])

    def size(self, alloc_id: str, task: str, stream: str) -> int:
        with self._lock:
            return len(self._buffers.get((alloc_id, task, stream), b""))

    def wait_growth(self, key: tuple, size: int, timeout: float) -> None:
        with self.grew:
            if len(self._buffers.get(key, b"")) <= size:
                self.grew.wait(timeout)


def logs_endpoint(request: Request, alloc_id: str, state, store: LogStore, stopping) -> Response:
    """Parameter checks in the order of command/agent/fs_endpoint.go Logs."""
    task = request.arg("task", "")
    if not task:
        return text(400, "must provide task name")
    stream = request.arg("type", "")
    if stream not in ("stdout", "stderr"):
        return text(400, "must provide log type (stdout/stderr)")
    flags = {}
    for name in ("follow", "plain"):
        raw = request.arg(name)
        try:
            flags[name] = parse_bool(raw) if raw is not None else False
        except GoParseError as exc:
            return text(400, f"failed to parse {name} field to boolean: {exc}")
    try:
        offset = parse_int(request.arg("offset")) if request.arg("offset") is not None else 0
    except GoParseError as exc:
        return text(400, f"error parsing offset: {exc}")
    origin = request.arg("origin") or "start"
    if origin not in ("start", "end"):
        return text(400, "origin must be start or end")
    alloc = state.allocs.get(alloc_id)
    if alloc is None:
        return text(404, f'Unknown allocation "{alloc_id}"')
    if task not in alloc.task_states:
        return text(500, f'unknown task name "{task}"')
    key = (alloc_id, task, stream)
    size = store.size(*key)
    start = max(0, size - offset) if origin == "end" else min(max(0, offset), size)
    follow, plain = flags["follow"], flags["plain"]
    file_name = f"alloc/logs/{task}.{stream}.0"
    if not follow:
        data = store.read(*key, start)
        if plain:
            return Response(200, data, "text/plain")
        return Response(200, _frames(data, start, file_name), "application/json")
    return Response(200, b"", "text/plain" if plain else "application/json",
                    stream=_follow(store, key, start, plain, file_name, alloc, stopping))


def _frames(data: bytes, start: int, file_name: str) -> bytes:
    out = []
    for cut in range(0, len(data), FRAME_MAX):
        piece = data[cut: cut + FRAME_MAX]
        out.append(json.dumps({"Data": base64.b64encode(piece).decode(), "File": file_name,
                               "Offset": start + cut + len(piece)}, separators=(",", ":")))
    return "".join(out).encode()


def _follow(store: LogStore, key: tuple, position: int, plain: bool, file_name: str, alloc, stopping):
    """Stream new bytes as the scenario writes them; a `{}` heartbeat each second when idle (framed)."""
    last_beat = time.monotonic()
    if not plain:
        yield b"{}"
    while not stopping.is_set():
        data = store.read(*key, position)
        if data:
            yield data if plain else _frames(data, position, file_name)
            position += len(data)
            last_beat = time.monotonic()
            continue
        if alloc.terminal and alloc.task_states[key[1]].state == "dead":
            return  # the task is dead and its file fully sent
        if not plain and time.monotonic() - last_beat >= 1.0:
            yield b"{}"
            last_beat = time.monotonic()
        store.wait_growth(key, position, 0.2)
