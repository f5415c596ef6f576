"""Alerts on a real pseudo-terminal (issue 17): with --notify a stalling job writes one OSC 777 and one
OSC 9 notification and rings; without it, not one byte of either, nor a bell."""

from __future__ import annotations

import re
import sys

from bench.ptyrun import run_on_pty
from tests.e2e.test_terminals import demo_env

STALL = "6"  # above the simulator's longest Gtid upload interval: only the stalled job stalls
OSC = re.compile(rb"\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)")


def bare_bells(out: bytes) -> int:
    return OSC.sub(b"", out).count(b"\x07")


def test_notify_writes_one_notification_and_a_bell_for_the_stalled_job(tmp_path):
    argv = [sys.executable, "-m", "dtle_tui", "--demo", "--notify", "--stall-threshold", STALL]
    seen, rc, out = run_on_pty(argv, demo_env(tmp_path, TERM="xterm-256color"),
                               until=b"\x1b]777;notify;dtle job users-stalled STALLED;", timeout=90)
    assert seen and rc == 0, out[-2000:]
    assert len(re.findall(rb"\x1b\]777;notify;dtle job users-stalled STALLED;[^\x07]*\x07", out)) == 1
    assert len(re.findall(rb"\x1b\]9;dtle job users-stalled STALLED: [^\x07]*\x07", out)) == 1
    assert bare_bells(out) >= 1
    assert b"Traceback" not in out


def test_without_notify_no_notification_nor_bell_is_written(tmp_path):
    argv = [sys.executable, "-m", "dtle_tui", "--demo", "--stall-threshold", STALL]
    # The Jobs row of the stalled job says why (its verdict `stalled`, its reason "Gtid unchanged …").
    seen, rc, out = run_on_pty(argv, demo_env(tmp_path, TERM="xterm-256color"), until=b"Gtid unchanged", timeout=90)
    assert seen and rc == 0, out[-2000:]
    assert b"]777;" not in out and b"\x1b]9;" not in out
    assert bare_bells(out) == 0
