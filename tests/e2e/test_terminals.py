"""Themes, terminal types and NO_COLOR, on a real pseudo-terminal against the demo cluster (issue 8)."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from bench.ptyrun import run_on_pty
from dtle_tui.app import DtleApp
from tests.helpers.wait import until


def demo_env(tmp_path, **extra) -> dict:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "LANG": "C.UTF-8",
           "XDG_STATE_HOME": str(tmp_path / "state"), "XDG_CONFIG_HOME": str(tmp_path / "config")}
    env.update(extra)
    return env


@pytest.mark.parametrize("term", ["xterm", "xterm-256color", "screen-256color", "tmux-256color"])
def test_demo_paints_under_each_terminal_type(term, tmp_path):
    seen, rc, out = run_on_pty([sys.executable, "-m", "dtle_tui", "--demo"], demo_env(tmp_path, TERM=term),
                               until=b"payments-sync")
    assert seen and rc == 0
    assert b"Traceback" not in out


def test_no_color_paints_only_greys(tmp_path):
    env = demo_env(tmp_path, TERM="xterm-256color", NO_COLOR="1")
    seen, rc, out = run_on_pty([sys.executable, "-m", "dtle_tui", "--demo"], env, until=b"payments-sync")
    assert seen and rc == 0
    indexes = {int(n) for n in re.findall(rb"[34]8;5;(\d+)", out)}
    assert indexes, "no 256-colour codes at all: the check below would prove nothing"
    # 232-255 is the grey ramp; 16 and 231 are black and white of the colour cube.
    assert indexes <= set(range(232, 256)) | {16, 231}, sorted(indexes)
    assert not re.search(rb"[34]8;2;", out)  # no truecolour either


async def test_light_theme_is_applied(frozen_sim, make_settings):
    app = DtleApp(make_settings(frozen_sim, "--theme", "textual-light"))
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.snapshot and app.snapshot.rows)
        assert app.theme == "textual-light"
        assert not app.current_theme.dark


def test_unknown_theme_is_a_one_line_error(frozen_sim, tmp_path):
    out = subprocess.run([sys.executable, "-m", "dtle_tui", "--theme", "no-such-theme",
                          "--nomad-addr", frozen_sim.nomad_addr, "--consul-addr", frozen_sim.consul_addr],
                         capture_output=True, text=True, timeout=60, env=demo_env(tmp_path))
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "no-such-theme" in lines[0] and "textual-light" in lines[0]
