"""The command line: one-line errors with exit 2, --version, --show-config, logging to a file only."""

from __future__ import annotations

import logging
import os
import stat
import subprocess
import sys
import types
from pathlib import Path

import pytest

from dtle_tui import __version__, cli
from dtle_tui.live.startup import EarlyPoller
from tests.helpers import loopback
from tests.helpers.paths import ROOT

ROOT = ROOT


def run(*argv: str, env: dict | None = None, home: Path) -> subprocess.CompletedProcess:
    environ = {"PATH": os.environ.get("PATH", ""), "HOME": str(home), "PYTHONPATH": str(ROOT)}
    environ.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "dtle_tui", *argv],
        capture_output=True,
        text=True,
        env=environ,
        cwd=str(ROOT),
        timeout=60,
    )


def test_bad_address_is_one_line_and_exit_2(tmp_path):
    result = run("--nomad-addr", "http://[bad", home=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("dtle-tui: error: invalid Nomad address 'http://[bad'")


@pytest.mark.parametrize(
    "argv,env",
    [
        (["--refresh", "soon"], {}),
        (["--bogus"], {}),
        ([], {"NOMAD_SKIP_VERIFY": "maybe"}),
        ([], {"CONSUL_HTTP_TOKEN_FILE": "/nonexistent/token"}),
        (["--context", "nope"], {}),
        # Refused after the poller has started: its tasks must finish cancelling, or asyncio reports each
        # one destroyed while pending, on stderr, after the error line.
        (["--theme", "bogus", "--nomad-addr", "http://127.0.0.1:9"], {}),
    ],
)
def test_every_config_error_is_one_line(tmp_path, argv, env):
    result = run(*argv, env=env, home=tmp_path)
    assert result.returncode == 2 and len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith("dtle-tui: error: ")


def test_version(tmp_path):
    result = run("--version", home=tmp_path)
    assert result.returncode == 0 and result.stdout.strip() == f"dtle-tui {__version__}"


def test_help_has_examples_and_does_not_load_textual(tmp_path, monkeypatch, capsys):
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "examples:" in out and "--nomad-token-file" in out and "--show-config" in out
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, dtle_tui.cli as c\n"
            "try:\n c.main(['--version'])\nexcept SystemExit: pass\n"
            "print('textual' in sys.modules)",
        ],
        capture_output=True,
        text=True,
        cwd=str(ROOT),
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert probe.stdout.strip().endswith("False")


def test_show_config_masks_tokens(tmp_path):
    env = {
        "NOMAD_TOKEN": "8f1e-nomad-very-secret",
        "CONSUL_HTTP_TOKEN": "consul-very-secret",
        "NOMAD_HTTP_AUTH": "ops:pw-very-secret",
        "NOMAD_ADDR": "http://127.0.9.9:4646"  # loopback: --show-config connects nowhere anyway,
    }
    result = run("--show-config", "--region", "eu", env=env, home=tmp_path)
    assert result.returncode == 0, result.stderr
    for secret in ("8f1e-nomad-very-secret", "consul-very-secret", "pw-very-secret"):
        assert secret not in result.stdout
    rows = {line.split()[0]: line for line in result.stdout.splitlines()}
    assert "http://127.0.9.9:4646" in rows["nomad.addr"] and "env NOMAD_ADDR" in rows["nomad.addr"]
    assert "hidden" in rows["nomad.token"] and "env NOMAD_TOKEN" in rows["nomad.token"]
    assert "flag --region" in rows["nomad.region"]
    assert "default" in rows["refresh"]


@pytest.fixture
def fake_app(monkeypatch):
    calls = []
    module = types.ModuleType("dtle_tui.app")

    def run_app(settings, early=None):
        calls.append(settings)
        logging.getLogger("dtle_tui.test").warning("token %s leaked?", settings.nomad.token)
        return 0

    module.run_app = run_app
    monkeypatch.setitem(sys.modules, "dtle_tui.app", module)
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield calls
    root.handlers[:] = handlers  # cli.main replaces pytest's capture handlers; put them back
    root.setLevel(level)


def test_main_runs_the_app_logging_to_a_private_file(tmp_path, monkeypatch, fake_app, capsys):
    secret = "a1b2c3d4-5678-token"
    monkeypatch.setattr(os, "environ", {"HOME": str(tmp_path), "NOMAD_TOKEN": secret})
    assert cli.main([]) == 0
    settings = fake_app[0]
    assert settings.nomad.token == secret
    log_file = tmp_path / ".local/state/dtle-tui/dtle-tui.log"
    assert log_file == settings.log_file and log_file.exists()
    assert stat.S_IMODE(log_file.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(log_file.stat().st_mode) == 0o600
    text = log_file.read_text()
    assert "leaked?" in text and secret not in text and "<redacted>" in text
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_unwritable_log_file_is_a_config_error(tmp_path, monkeypatch, fake_app, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setattr(os, "environ", {"HOME": str(tmp_path)})
    assert cli.main(["--log-file", str(blocker / "sub" / "x.log")]) == 2
    assert capsys.readouterr().err.startswith("dtle-tui: error: cannot write log file")
    assert fake_app == []


def test_demo_points_the_app_at_a_running_simulator(tmp_path, monkeypatch, fake_app):
    import httpx

    seen = {}

    def run_app(settings, early=None):
        seen["settings"] = settings
        seen["jobs"] = loopback.get(settings.nomad.addr + "/v1/jobs", timeout=5).json()
        return 0

    sys.modules["dtle_tui.app"].run_app = run_app
    monkeypatch.setattr(os, "environ", {"HOME": str(tmp_path), "NOMAD_TOKEN": "real-cluster-token"})
    assert cli.main(["--demo", "--demo-dialect", "0.11"]) == 0
    settings = seen["settings"]
    assert settings.demo and settings.nomad.token is None and settings.context == "demo"
    assert settings.nomad.addr.startswith("http://127.0.0.1:") and settings.consul.addr.startswith("http://127.0.0.1:")
    assert seen["jobs"] and "Namespace" not in seen["jobs"][0]  # 0.11 job stubs have no Namespace
    with pytest.raises(httpx.HTTPError):  # stopped when the app returned
        loopback.get(settings.nomad.addr + "/v1/jobs", timeout=1)


async def test_the_poller_started_before_textual_hands_its_snapshot_to_the_app(frozen_sim, make_settings):
    """cli.main starts the poller before importing Textual: the app takes that poller (no second one)
    and shows the snapshot it already holds."""
    from dtle_tui.app import DtleApp
    from tests.helpers.sim import sim_get
    from tests.helpers.wait import until, until_blocking

    settings = make_settings(frozen_sim)
    early = EarlyPoller(settings)
    try:
        # The app is not there yet: held, not lost.
        until_blocking(lambda: early._held is not None and early._held.rows, "a snapshot with rows held")
        app = DtleApp(settings, early=early)
        async with app.run_test(size=(80, 24)) as pilot:
            expected = sorted(j["ID"] for j in sim_get(frozen_sim.nomad_addr, "/v1/jobs"))
            await until(pilot, lambda: sorted(app.screen.query_one("#jobs-table").row_keys) == expected,
                        what="the held rows on screen")
            assert app.poller is early.poller and early.taken
            await pilot.press("2")
            await until(pilot, lambda: app.current_mode == "nodes", what="Nodes")
            await pilot.press("1")  # Jobs is the first screen, not a switched-to mode: `1` still returns
            await until(pilot, lambda: app.current_mode == "jobs"
                        and sorted(app.screen.query_one("#jobs-table").row_keys) == expected, what="Jobs again")
        assert early.poller._stopped  # the app stops the poller it took
    finally:
        early.stop()
