"""Issue 26, item 9: --show-config checks what starting checks and fails the same way; it says where the
demo keeps its state (a folder of its own, never $XDG_STATE_HOME)."""

from __future__ import annotations

import pytest

from tests.e2e.test_cli import run

LOOPBACK = ("--nomad-addr", "http://127.0.0.1:9", "--consul-addr", "127.0.0.1:9")  # nothing is asked there


def env_of(tmp_path) -> dict:
    return {"XDG_STATE_HOME": str(tmp_path / "state"), "XDG_CONFIG_HOME": str(tmp_path / "config"),
            "XDG_CACHE_HOME": str(tmp_path / "cache")}


@pytest.mark.parametrize("argv", [("--theme", "nope"), ("--log-file", "{blocker}/sub/x.log")],
                         ids=["unknown theme", "log file under a file"])
def test_show_config_fails_as_starting_fails(tmp_path, argv):
    blocker = tmp_path / "file"
    blocker.write_text("")
    argv = tuple(a.format(blocker=blocker) for a in argv)
    shown = run("--show-config", *argv, *LOOPBACK, env=env_of(tmp_path), home=tmp_path)
    started = run(*argv, *LOOPBACK, env=env_of(tmp_path), home=tmp_path)
    assert shown.returncode == started.returncode == 2
    assert shown.stdout == "" and len(shown.stderr.splitlines()) == 1
    assert shown.stderr == started.stderr and shown.stderr.startswith("dtle-tui: error: ")
    assert not (tmp_path / "state").exists()  # --show-config wrote nothing


def test_show_config_says_where_the_demo_keeps_its_state(tmp_path):
    result = run("--show-config", "--demo", env=env_of(tmp_path), home=tmp_path)
    assert result.returncode == 0, result.stderr
    rows = {line.split()[0]: line for line in result.stdout.splitlines()}
    demo_dir = str(tmp_path / "cache" / "dtle-tui" / "demo")
    assert rows["state_dir"].split()[1] == demo_dir and "never $XDG_STATE_HOME" in rows["state_dir"]
    assert rows["log_file"].split()[1].startswith(demo_dir)
    assert "demo's simulator" in result.stdout.splitlines()[0]
    without = run("--show-config", env=env_of(tmp_path), home=tmp_path)
    rows = {line.split()[0]: line for line in without.stdout.splitlines()}
    assert rows["state_dir"].split()[1] == str(tmp_path / "state" / "dtle-tui")
