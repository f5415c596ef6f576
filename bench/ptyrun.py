"""Run a command on a pseudo-terminal the way an operator's terminal would, and watch what it writes.

The child gets a pty of a fixed size (TIOCSWINSZ on the slave before it starts) and TERM=xterm-256color.
A reader thread drains the master side continuously (a full pty buffer would block the child's writes and
distort every timing) and keeps, per chunk, the arrival time and the byte count, plus the text with the
escape sequences stripped so a test can wait for a job ID to be painted. The tests run their terminals
here too (`run_on_pty`): the bytes exactly as written, in the environment exactly as given.
"""

from __future__ import annotations

import fcntl
import os
import re
import select
import signal
import struct
import subprocess
import termios
import threading
import time
from typing import Dict, List, Optional, Sequence, Tuple

# CSI (ESC [ ... final), OSC (ESC ] ... BEL or ESC \), DCS/APC/PM (ESC P|_|^ ... ESC \), two-byte escapes.
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"
    r"|\x1b[P_^][^\x1b]*\x1b\\"
    r"|\x1b[@-Z\\-_]"
    r"|\x1b[()][0-9A-Za-z]"
)


def strip_escapes(text: str) -> str:
    return _ESCAPES.sub("", text)


class PtyProcess:
    """One child process on its own pty. Always use as a context manager (the child is killed on exit)."""

    def __init__(
        self,
        argv: Sequence[str],
        cols: int = 80,
        rows: int = 24,
        env: Optional[Dict[str, str]] = None,
        exact_env: bool = False,
        keep_bytes: bool = False,
    ) -> None:
        """`exact_env`: the child gets `env` as it is (a test choosing TERM or NO_COLOR); otherwise the
        terminal the benchmark measures on is set over it. `keep_bytes`: keep the output as written too."""
        self.argv = list(argv)
        self.cols, self.rows = cols, rows
        self.env = dict(os.environ if env is None else env)
        if not exact_env:
            self.env["TERM"] = "xterm-256color"
            self.env["COLUMNS"], self.env["LINES"] = str(cols), str(rows)
            self.env.pop("NO_COLOR", None)
            self.env.pop("TEXTUAL", None)  # no devtools
        self.keep_bytes = keep_bytes
        self._bytes = bytearray()
        self.proc: Optional[subprocess.Popen] = None
        self.master = -1
        self.started = 0.0
        self.chunks: List[Tuple[float, int]] = []
        self._text: List[str] = []
        self._text_len = 0
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._reader: Optional[threading.Thread] = None
        self._closed = False

    # ---- lifecycle ------------------------------------------------------------------------------------
    def start(self) -> PtyProcess:
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", self.rows, self.cols, 0, 0))
        self.master = master
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            self.argv,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=self.env,
            start_new_session=True,
            close_fds=True,
        )
        os.close(slave)
        self._reader = threading.Thread(target=self._read_loop, name="pty-reader", daemon=True)
        self._reader.start()
        return self

    def __enter__(self) -> PtyProcess:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Ask politely (SIGTERM to the child's session), then SIGKILL; always reap and close the pty."""
        proc = self.proc
        if proc is not None and proc.poll() is None:
            for sig, grace in ((signal.SIGTERM, 3.0), (signal.SIGKILL, 3.0)):
                try:
                    os.killpg(proc.pid, sig)
                except (ProcessLookupError, PermissionError):
                    pass
                try:
                    proc.wait(timeout=grace)
                    break
                except subprocess.TimeoutExpired:
                    continue
        self._closed = True
        if self._reader is not None:
            self._reader.join(timeout=2)
        if self.master >= 0:
            try:
                os.close(self.master)
            except OSError:
                pass
            self.master = -1

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    # ---- output ---------------------------------------------------------------------------------------
    def _read_loop(self) -> None:
        while not self._closed:
            try:
                ready, _, _ = select.select([self.master], [], [], 0.1)
            except (OSError, ValueError):
                return
            if not ready:
                continue
            try:
                data = os.read(self.master, 65536)
            except OSError:  # EIO: the child closed its side
                return
            if not data:
                return
            now = time.perf_counter()
            text = strip_escapes(data.decode("utf-8", "replace"))
            with self._changed:
                if self.keep_bytes:
                    self._bytes += data
                self.chunks.append((now, len(data)))
                self._text.append(text)
                self._text_len += len(text)
                self._changed.notify_all()

    def output_text(self) -> str:
        with self._lock:
            return "".join(self._text)

    def output_bytes(self) -> bytes:
        """Everything written so far, escape sequences included (with keep_bytes)."""
        with self._lock:
            return bytes(self._bytes)

    def wait_for_bytes(self, needle: bytes, timeout: float) -> bool:
        """Until `needle` was written (with keep_bytes); False when the child ended first or on timeout."""
        deadline = time.perf_counter() + timeout
        searched = 0
        with self._changed:
            while self._bytes.find(needle, searched) < 0:
                searched = max(0, len(self._bytes) - len(needle))
                remaining = deadline - time.perf_counter()
                drained = not self.alive() and not (self._reader is not None and self._reader.is_alive())
                if remaining <= 0 or drained:
                    return self._bytes.find(needle, searched) >= 0
                self._changed.wait(min(remaining, 0.2))
            return True

    def ended(self, timeout: float) -> Optional[int]:
        """The child's exit code once it has ended and its last output is read; None if it is still
        running after `timeout` seconds."""
        assert self.proc is not None
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        if self._reader is not None:
            self._reader.join(timeout=timeout)  # it stops at the end of the output (EIO)
        return code

    def bytes_total(self) -> int:
        with self._lock:
            return sum(n for _, n in self.chunks)

    def bytes_between(self, start: float, end: float) -> List[Tuple[float, int]]:
        with self._lock:
            return [(t, n) for t, n in self.chunks if start <= t < end]

    def wait_for_text(self, needle: str, timeout: float) -> Optional[float]:
        """Seconds from spawn until `needle` appeared in the stripped output, or None on timeout.

        The time is the arrival of the chunk that completed the needle, not when we noticed it.
        """
        deadline = time.perf_counter() + timeout
        searched = 0  # index into self._text already searched (keep a window for split needles)
        with self._changed:
            while True:
                joined_from = max(0, searched - 1)
                window = "".join(self._text[joined_from:])
                if needle in window:
                    # find the chunk where it completed
                    acc = ""
                    for i in range(joined_from, len(self._text)):
                        acc += self._text[i]
                        if needle in acc:
                            return self.chunks[i][0] - self.started
                searched = len(self._text)
                remaining = deadline - time.perf_counter()
                if remaining <= 0 or (self.proc is not None and self.proc.poll() is not None):
                    return None
                self._changed.wait(min(remaining, 0.2))

    def wait_quiet(self, quiet: float, timeout: float) -> bool:
        """Wait until no output arrived for `quiet` seconds. False on timeout."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            with self._lock:
                last = self.chunks[-1][0] if self.chunks else self.started
            idle = time.perf_counter() - last
            if idle >= quiet:
                return True
            time.sleep(min(quiet - idle, 0.05) + 0.001)
        return False

    def write(self, data: bytes) -> float:
        """Send key bytes; returns the perf_counter time they were written."""
        now = time.perf_counter()
        os.write(self.master, data)
        return now

    def next_output_after(self, since: float, timeout: float, min_bytes: int = 1) -> Optional[float]:
        """perf_counter time of the first chunk that arrived after `since`, or None."""
        deadline = time.perf_counter() + timeout
        with self._changed:
            while True:
                later = [t for t, n in self.chunks[-64:] if t >= since and n >= min_bytes]
                if later:
                    return later[0]
                remaining = deadline - time.perf_counter()
                if remaining <= 0:
                    return None
                self._changed.wait(min(remaining, 0.1))


def run_on_pty(
    argv: Sequence[str], env: Dict[str, str], until: bytes, timeout: float = 180.0
) -> Tuple[bool, Optional[int], bytes]:
    """Run `argv` on an 80x24 pty with exactly `env` until `until` is written, then press q, as an operator
    would: (whether `until` came, the exit code or None when q did not end it, every byte written).
    `timeout` only turns a hang into a failure."""
    with PtyProcess(argv, env=env, exact_env=True, keep_bytes=True) as proc:
        seen = proc.wait_for_bytes(until, timeout)
        if seen:
            proc.write(b"q")
        code = proc.ended(timeout=60.0 if seen else 0.0)
        return seen, code, proc.output_bytes()


# ---- the child's resources, read from /proc (CPU of every thread, RSS) ---------------------------------
_TICK = os.sysconf("SC_CLK_TCK")


def proc_cpu_seconds(pid: int) -> float:
    """utime + stime of the process (all threads), in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


def proc_rss_mb(pid: int) -> Tuple[float, float]:
    """(current RSS, peak RSS) in MiB."""
    rss = hwm = 0.0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) / 1024
            elif line.startswith("VmHWM:"):
                hwm = int(line.split()[1]) / 1024
    return rss, hwm
