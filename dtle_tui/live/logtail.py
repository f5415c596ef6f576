"""Follow one task's stdout or stderr through Nomad's logs endpoint, into a bounded ring buffer.

Why framed output, not `plain=true` (docs/reference/nomad-api.md §5): a plain stream carries only bytes, so after
`origin=end` at the first connect nobody knows where in the file those bytes were, and a dropped stream
cannot resume exactly. Framed output carries `{"File": "alloc/logs/<task>.<type>.<n>", "Offset": <end of
this data in that file>, "Data": <base64>}` plus a `{}` heartbeat every second (which also lets a
half-open connection be noticed by a read timeout). With the position known as (file index, offset):

- first connect: `origin=end&offset=<initial_tail_bytes>`, so a task that already died still shows what
  it printed last (the first, partial line is dropped);
- reconnect, log not rotated (file .0): `origin=start&offset=<bytes read so far>`: exact, nothing lost
  or repeated;
- reconnect after rotation (file .n, n > 0): `origin=start` offsets count from the oldest rotated file
  still on disk, which Nomad may have deleted meanwhile, so ask for the last `resume_window` bytes with
  `origin=end` instead and drop what was already read. Each frame names its file and offset, so the
  overlap is cut exactly; a gap larger than the window is shown as a marker line.

Tasks of the dtle driver write nothing here (docs/reference/real-dtle.md §2): their lines are in the
Nomad agent's log, which live/agentlogs.py follows with the same ring and controls (TailBase).

A follow stream ends when the task is dead; the tail then reconnects with back-off (1 s doubling to
30 s), as it does after an error, since Nomad may restart the task. 400/403/404 are final.

Pause (`pause()`/`resume()`): the stream stays connected and lines keep going into the ring buffer;
only `on_lines` is held back. `resume()` delivers everything that arrived meanwhile in one call (at most
`max_lines` lines; `dropped_count` says how many more fell out of the buffer).

Threading: `run()` and the callbacks run on the loop that awaits `run()` (the poller's loop);
`pause()`, `resume()` and `lines_snapshot()` may be called from any thread.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import codecs
import json
import logging
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any, AsyncIterator, Callable, Optional

from dtle_tui.api.errors import ApiError, ErrorKind

log = logging.getLogger(__name__)

__all__ = ["Frame", "FrameDecoder", "LineSplitter", "LogTail", "TailBase", "TailState", "file_index"]

BACKOFF_START_S = 1.0
BACKOFF_CAP_S = 30.0
READ_TIMEOUT_S = 30.0  # Nomad sends a `{}` heartbeat every second on a framed stream
MAX_FRAME_BUFFER = 1 << 20  # frames are <= 64 KiB of data; anything bigger is not Nomad
MAX_LINE_BYTES = 64 * 1024  # a "line" that never ends is cut here, so memory stays bounded
FINAL_KINDS = (ErrorKind.NOT_FOUND, ErrorKind.BAD_REQUEST, ErrorKind.FORBIDDEN)

OnLines = Callable[[list, int], None]
OnState = Callable[["TailState"], None]
Opener = Callable[[str, int], AsyncIterator[bytes]]


@dataclass(frozen=True)
class Frame:
    data: bytes = b""
    file: str = ""
    offset: int = 0
    file_event: str = ""


def file_index(name: str) -> int:
    """`alloc/logs/dest.stdout.3` -> 3 (Nomad's rotation index); 0 when there is none."""
    _, _, tail = name.rpartition(".")
    return int(tail) if tail.isdigit() else 0


class FrameDecoder:
    """Nomad's framed log output: JSON objects concatenated with no separator, split anywhere."""

    def __init__(self) -> None:
        self._text = codecs.getincrementaldecoder("utf-8")("replace")
        self._buffer = ""
        self._json = json.JSONDecoder()

    def feed(self, chunk: bytes) -> list[Frame]:
        self._buffer += self._text.decode(chunk)
        frames = []
        pos = 0
        buf = self._buffer
        while True:
            while pos < len(buf) and buf[pos] in " \t\r\n":
                pos += 1
            if pos >= len(buf):
                break
            if buf[pos] != "{":
                raise ValueError(f"not a log frame: {buf[pos : pos + 40]!r}")
            try:
                obj, end = self._json.raw_decode(buf, pos)
            except ValueError:
                break  # incomplete: wait for more bytes
            pos = end
            if isinstance(obj, dict) and obj:
                frames.append(_frame(obj))
        self._buffer = buf[pos:]
        if len(self._buffer) > MAX_FRAME_BUFFER:
            raise ValueError("log frame too large or malformed")
        return frames


def _frame(obj: dict) -> Frame:
    data = obj.get("Data") or ""
    try:
        raw = base64.b64decode(data) if isinstance(data, str) and data else b""
    except (binascii.Error, ValueError):
        raise ValueError("log frame with invalid base64 data") from None
    offset = obj.get("Offset")
    return Frame(
        raw, str(obj.get("File") or ""), offset if isinstance(offset, int) else 0, str(obj.get("FileEvent") or "")
    )


class LineSplitter:
    """Bytes in, complete lines out. A partial line waits for its end (bytes, so a UTF-8 sequence split
    across chunks decodes correctly); "\\r\\n" counts as one ending; invalid UTF-8 becomes U+FFFD."""

    def __init__(self, max_line_bytes: int = MAX_LINE_BYTES) -> None:
        self.partial = b""
        self.max_line_bytes = max_line_bytes

    def feed(self, data: bytes) -> list[str]:
        if not data:
            return []
        parts = (self.partial + data).split(b"\n")
        self.partial = parts.pop()
        lines = [_decode(p) for p in parts]
        while len(self.partial) > self.max_line_bytes:
            cut = self.max_line_bytes
            # never cut inside a UTF-8 sequence: back up over continuation bytes
            while cut > 0 and (self.partial[cut] & 0xC0) == 0x80:
                cut -= 1
            lines.append(_decode(self.partial[:cut]))
            self.partial = self.partial[cut:]
        return lines

    def drop_partial(self) -> None:
        self.partial = b""


def _decode(raw: bytes) -> str:
    if raw.endswith(b"\r"):
        raw = raw[:-1]
    return raw.decode("utf-8", "replace")


@dataclass(frozen=True)
class TailState:
    """What the tail is doing, for a status line. `final` once it has given up for good. `note`: what the
    tail knows of the task beyond its connection (a dtle task between restarts: when lines can come next);
    `driver`: the task's driver, once a tail has read it ("" while unknown)."""

    following: bool = False
    message: str = "connecting…"
    final: bool = False
    note: str = ""
    driver: str = ""


class TailBase:
    """What every tail shares: a ring of at most `max_lines` lines, `on_lines` held back while paused, and
    its state for a status line. The thread-safe controls are `pause()`, `resume()` and `lines_snapshot()`;
    the rest runs on the tail's loop."""

    def __init__(self, max_lines: int, on_lines: Optional[OnLines], on_state: Optional[OnState]) -> None:
        self.on_lines = on_lines
        self.on_state = on_state
        self._lock = threading.Lock()
        self._lines: deque[str] = deque(maxlen=max(1, max_lines))
        self._total = 0  # lines ever added; with _notified, what on_lines has not seen yet
        self._notified = 0
        self._paused = False
        self.state = TailState()
        self.backoff_start_s = BACKOFF_START_S
        self.backoff_cap_s = BACKOFF_CAP_S

    async def run(self) -> None:
        raise NotImplementedError

    # ---- thread-safe controls -------------------------------------------------------------------
    @property
    def max_lines(self) -> int:
        return self._lines.maxlen or 0

    @property
    def paused(self) -> bool:
        return self._paused

    def pause(self) -> None:
        self._paused = True

    def resume(self, loop: Optional[asyncio.AbstractEventLoop] = None) -> None:
        """Deliver what arrived while paused. From another thread, pass the tail's loop."""
        self._paused = False
        if loop is not None:
            loop.call_soon_threadsafe(self._notify)
        else:
            self._notify()

    def lines_snapshot(self) -> list[str]:
        with self._lock:
            return list(self._lines)

    def _add_lines(self, lines: list[str]) -> None:
        if not lines:
            return
        with self._lock:
            self._lines.extend(lines)
            self._total += len(lines)
        self._notify()

    def _notify(self) -> None:
        if self._paused or self.on_lines is None:
            return
        with self._lock:
            new = self._total - self._notified
            if new <= 0:
                return
            kept = min(new, len(self._lines))
            lines = list(self._lines)[-kept:]
            self._notified = self._total
        try:
            self.on_lines(lines, new - kept)
        except Exception:  # a broken consumer must not stop the tail
            log.exception("on_lines callback failed")

    def _set_state(self, state: TailState) -> None:
        if state == self.state:
            return
        self.state = state
        if self.on_state is not None:
            try:
                self.on_state(state)
            except Exception:
                log.exception("on_state callback failed")


class LogTail(TailBase):
    def __init__(
        self,
        nomad: Any,
        alloc_id: str,
        task: str,
        log_type: str = "stdout",
        *,
        max_lines: int = 10000,
        on_lines: Optional[OnLines] = None,
        on_state: Optional[OnState] = None,
        initial_tail_bytes: int = 64 * 1024,
        resume_window: int = 4 << 20,
        opener: Optional[Opener] = None,
    ) -> None:
        if log_type not in ("stdout", "stderr"):
            raise ValueError("log_type must be stdout or stderr")
        super().__init__(max_lines, on_lines, on_state)
        self.nomad = nomad
        self.alloc_id, self.task, self.log_type = alloc_id, task, log_type
        self.initial_tail_bytes = initial_tail_bytes
        self.resume_window = resume_window
        self._opener = opener or self._open_framed
        self.position: Optional[tuple[int, int]] = None  # (file index, offset) of the last byte read
        self.connects = 0
        self.requests: list[tuple[str, int]] = []  # (origin, offset) of every connect, for tests/debug
        self._splitter = LineSplitter()
        self._skip_fragment = False

    # ---- the loop -------------------------------------------------------------------------------
    async def run(self) -> None:
        """Follow until cancelled, or until a final error (unknown allocation, bad task, forbidden)."""
        delay = self.backoff_start_s
        while True:
            origin, offset = self._resume_point()
            self.requests.append((origin, offset))
            self.connects += 1
            got_data = False
            try:
                self._set_state(TailState(False, "connecting…"))
                decoder = FrameDecoder()
                stream = self._opener(origin, offset)
                try:
                    first = True
                    async for chunk in stream:
                        if first:
                            self._set_state(TailState(True, "following"))
                            first = False
                        for frame in decoder.feed(chunk):
                            got_data = self._take(frame) or got_data
                finally:
                    closer = getattr(stream, "aclose", None)
                    if closer is not None:
                        await closer()
                reason = "stream ended (task not running?)"
            except asyncio.CancelledError:
                raise
            except ApiError as exc:
                if exc.kind in FINAL_KINDS:
                    self._set_state(TailState(False, exc.one_line(), final=True))
                    return
                reason = exc.one_line()
            except ValueError as exc:  # a proxy or a bug sent something that is not log frames
                reason = f"Nomad: unexpected log data: {exc}"
            if got_data:
                delay = self.backoff_start_s
            self._set_state(TailState(False, f"{reason}; retry in {delay:g}s"))
            await asyncio.sleep(delay)
            delay = min(self.backoff_cap_s, delay * 2)

    def _resume_point(self) -> tuple[str, int]:
        if self.position is None:
            return "end", self.initial_tail_bytes
        index, offset = self.position
        if index == 0:
            return "start", offset
        return "end", self.resume_window

    def _take(self, frame: Frame) -> bool:
        """Apply one frame; True when it brought new bytes."""
        index = file_index(frame.file)
        if frame.file_event == "file truncated":
            self.position = (index, 0)
            self._add_lines(["[log file truncated]"])
            return False
        if not frame.data:
            return False
        data = frame.data
        end = frame.offset
        start = end - len(data)
        if self.position is None:
            # origin=end starts mid-file: the first line is a fragment unless the file starts here
            self._skip_fragment = start > 0
        else:
            have_index, have_offset = self.position
            if index < have_index or (index == have_index and end <= have_offset):
                return False  # already read before the reconnect
            if index == have_index and start < have_offset:
                data = data[have_offset - start :]
            elif (index == have_index and start > have_offset) or (index > have_index and start > 0):
                self._splitter.drop_partial()
                self._add_lines([f"[… lines missed while disconnected ({frame.file or 'log'})]"])
                self._skip_fragment = True
        self.position = (index, end)
        lines = self._splitter.feed(data)
        if self._skip_fragment and lines:
            lines = lines[1:]
            self._skip_fragment = False
        self._add_lines(lines)
        return True

    # ---- HTTP -----------------------------------------------------------------------------------
    def _open_framed(self, origin: str, offset: int) -> AsyncIterator[bytes]:
        """GET /v1/client/fs/logs/<alloc>, framed, through the NomadClient (auth, TLS, ApiError)."""
        return self.nomad.logs(
            self.alloc_id,
            self.task,
            self.log_type,
            follow=True,
            origin=origin,
            offset=offset,
            plain=False,
            read_timeout=READ_TIMEOUT_S,
        )
