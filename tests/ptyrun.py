"""Run a command on a pseudo-terminal, as an operator's terminal would, and read what it paints."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import time


def run_on_pty(argv: list, env: dict, until: bytes, timeout: float = 60.0) -> tuple:
    """Run argv on an 80x24 pseudo-terminal until `until` is printed; then press q. -> (seen, rc, output)."""
    import fcntl
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True,
                            start_new_session=True)
    os.close(slave)
    output = b""
    seen = False
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    output += os.read(master, 65536)
                except OSError:
                    break
            if not seen and until in output:
                seen = True
                os.write(master, b"q")
        rc = proc.wait(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    return seen, rc, output
