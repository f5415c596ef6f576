"""LogTail core without a server: frame decoding, line splitting, resume points, ring buffer, pause."""

from __future__ import annotations

import asyncio
import base64
import json

import pytest

from dtle_tui.api.errors import ApiError, ErrorKind
from dtle_tui.live.logtail import FrameDecoder, LineSplitter, LogTail, file_index


def frame(data: bytes, end: int, file: str = "alloc/logs/dest.stdout.0") -> bytes:
    return json.dumps({"Data": base64.b64encode(data).decode(), "File": file, "Offset": end}).encode()


# ---- FrameDecoder --------------------------------------------------------------------------------


def test_frames_split_anywhere_and_heartbeats_skipped():
    wire = b"{}" + frame(b"one\n", 4) + b"{}" + frame(b"two\n", 8)
    for size in (1, 3, 7, len(wire)):
        decoder = FrameDecoder()
        frames = []
        for cut in range(0, len(wire), size):
            frames.extend(decoder.feed(wire[cut : cut + size]))
        assert [(f.data, f.offset, f.file) for f in frames] == [
            (b"one\n", 4, "alloc/logs/dest.stdout.0"),
            (b"two\n", 8, "alloc/logs/dest.stdout.0"),
        ]


def test_frame_garbage_is_an_error():
    with pytest.raises(ValueError):
        FrameDecoder().feed(b"<html>502</html>")


def test_file_event_and_index():
    (f,) = FrameDecoder().feed(b'{"File":"alloc/logs/src.stderr.12","FileEvent":"file truncated","Offset":0}')
    assert f.file_event == "file truncated" and f.data == b""
    assert file_index(f.file) == 12
    assert file_index("") == 0


# ---- LineSplitter --------------------------------------------------------------------------------


def test_partial_lines_and_utf8_split_across_chunks():
    splitter = LineSplitter()
    text = "héllo 世界\r\nsecond\n".encode()
    out = []
    for byte in text:  # worst case: one byte per chunk, splitting every multi-byte character
        out.extend(splitter.feed(bytes([byte])))
    assert out == ["héllo 世界", "second"]
    assert splitter.partial == b""


def test_invalid_utf8_replaced_and_endless_line_cut():
    splitter = LineSplitter(max_line_bytes=10)
    assert splitter.feed(b"bad \xff byte\n") == ["bad \ufffd byte"]
    lines = splitter.feed("aaaaaaaaa€€".encode())  # 9 + 6 bytes, no newline: cut before the euro sign
    assert lines == ["aaaaaaaaa"]
    assert splitter.partial.decode() == "€€"


# ---- LogTail with a scripted server ----------------------------------------------------------------


class FakeNomadLog:
    """One log file as the sim/Nomad frame it; each connect can be told to break after some bytes."""

    def __init__(self, content: bytes = b"") -> None:
        self.content = bytearray(content)
        self.break_after: list = []  # per connect: bytes to send before the stream drops (None: end)
        self.errors: list = []  # per connect: an exception to raise instead of answering
        self.file = "alloc/logs/dest.stdout.0"

    def opener(self, origin: str, offset: int):
        size = len(self.content)
        start = max(0, size - offset) if origin == "end" else min(offset, size)
        error = self.errors.pop(0) if self.errors else None
        limit = self.break_after.pop(0) if self.break_after else None

        async def stream():
            if error is not None:
                raise error
            yield b"{}"
            data = bytes(self.content[start:])
            if limit is not None:
                data = data[:limit]
            for cut in range(0, len(data), 5):  # small frames, split mid-line
                piece = data[cut : cut + 5]
                yield frame(piece, start + cut + len(piece), self.file)

        return stream()


async def run_until(tail: LogTail, condition, timeout: float = 5.0) -> None:
    task = asyncio.ensure_future(tail.run())
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not condition():
            assert loop.time() < deadline, f"condition not met; lines={tail.lines_snapshot()}"
            await asyncio.sleep(0.005)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


def make_tail(log: FakeNomadLog, **kw) -> tuple[LogTail, list]:
    calls: list = []
    tail = LogTail(
        None,
        "a1",
        "dest",
        "stdout",
        opener=log.opener,
        on_lines=lambda lines, dropped: calls.append((list(lines), dropped)),
        **kw,
    )
    tail.backoff_start_s = 0.01
    return tail, calls


async def test_first_connect_tails_the_end_and_drops_the_fragment():
    log = FakeNomadLog(b"".join(b"line %d\n" % i for i in range(100)))
    tail, calls = make_tail(log, initial_tail_bytes=20)
    await run_until(tail, lambda: tail.connects >= 1 and tail.lines_snapshot())
    assert tail.requests[0] == ("end", 20)
    # the last 20 bytes are "e 97\nline 98\nline 99\n": the first piece is a fragment
    assert tail.lines_snapshot() == ["line 98", "line 99"]


async def test_reconnect_resumes_at_offset_without_duplicates_or_loss():
    lines = [b"line %03d\n" % i for i in range(30)]
    log = FakeNomadLog(b"".join(lines[:10]))
    log.break_after = [None, 17]  # first connect: read all; second: drop mid-line after 17 bytes
    tail, calls = make_tail(log, initial_tail_bytes=1000)
    await run_until(tail, lambda: len(tail.lines_snapshot()) >= 10)
    log.content.extend(b"".join(lines[10:]))
    await run_until(tail, lambda: len(tail.lines_snapshot()) >= 30)
    assert tail.lines_snapshot() == [x.decode().rstrip("\n") for x in lines]
    assert tail.requests[0] == ("end", 1000)
    assert tail.requests[1] == ("start", 90)  # everything of the first connect
    assert ("start", 90 + 17) in tail.requests  # resumed inside the half-read line
    assert sum(len(c[0]) for c in calls) == 30


async def test_transport_error_backs_off_and_retries():
    log = FakeNomadLog(b"a\nb\n")
    log.errors = [ApiError("Nomad", ErrorKind.UNREACHABLE, None, "connection refused")]
    states: list = []
    tail, _ = make_tail(log, on_state=states.append)
    await run_until(tail, lambda: tail.lines_snapshot() == ["a", "b"])
    assert tail.connects >= 2
    assert any("connection refused" in s.message and "retry in" in s.message for s in states)


async def test_unknown_allocation_is_final():
    log = FakeNomadLog()
    log.errors = [ApiError("Nomad", ErrorKind.NOT_FOUND, 404, 'Unknown allocation "a1"')]
    tail, _ = make_tail(log)
    await asyncio.wait_for(tail.run(), 2)  # returns instead of retrying forever
    assert tail.state.final and "Unknown allocation" in tail.state.message


async def test_ring_buffer_is_bounded_and_reports_dropped():
    log = FakeNomadLog(b"".join(b"%d\n" % i for i in range(500)))
    tail, calls = make_tail(log, max_lines=50, initial_tail_bytes=10**6)
    tail.pause()
    await run_until(tail, lambda: tail.lines_snapshot()[-1:] == ["499"])
    assert len(tail.lines_snapshot()) == 50 and tail.lines_snapshot()[0] == "450"
    assert calls == []  # paused: nothing delivered
    tail.resume()
    assert calls == [([str(i) for i in range(450, 500)], 450)]


async def test_rotated_log_resumes_from_the_end_window_and_skips_what_was_read():
    log = FakeNomadLog(b"old\n" * 5)
    log.file = "alloc/logs/dest.stdout.3"
    log.break_after = [None, None]
    tail, _ = make_tail(log, initial_tail_bytes=1000, resume_window=1000)
    await run_until(tail, lambda: len(tail.lines_snapshot()) == 5)
    log.content.extend(b"new\n")
    await run_until(tail, lambda: len(tail.lines_snapshot()) == 6)
    assert tail.requests[1] == ("end", 1000)
    assert tail.lines_snapshot() == ["old"] * 5 + ["new"]


async def test_a_gap_larger_than_the_window_is_marked():
    log = FakeNomadLog(b"a\n")
    log.file = "alloc/logs/dest.stdout.1"
    tail, _ = make_tail(log, initial_tail_bytes=100, resume_window=4)
    await run_until(tail, lambda: tail.lines_snapshot() == ["a"])
    log.content.extend(b"lost\nkept\n")  # 10 new bytes, only the last 4 are in the window
    await run_until(tail, lambda: len(tail.lines_snapshot()) >= 2)
    snap = tail.lines_snapshot()
    assert snap[0] == "a" and snap[1].startswith("[… lines missed")
    assert "lost" not in snap


def test_bad_log_type_rejected():
    with pytest.raises(ValueError):
        LogTail(None, "a", "t", "stdin")
