"""Issue 5, requirements 3 and 6: tokens and job passwords never reach the screen, the notifications, the
log file or a traceback; a 403 names the variable to fix; diagnostics go to the log file, never to the
terminal (the real CLI in a pseudo-terminal)."""

from __future__ import annotations

import logging
import os
import pty
import select
import signal
import stat
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dtle_tui import cli
from dtle_tui.app import DtleApp
from dtle_tui.live import poller as poller_module
from dtle_tui.screens.confirm import ConfirmScreen
from dtle_tui.screens.job_detail import JobDetailScreen
from dtle_tui.screens.jobs import JobsScreen
from dtle_tui.screens.spec import SpecScreen
from dtle_tui.sim import SimCluster
from dtle_tui.sim.server import text
from tests.helpers import loopback
from tests.helpers.paths import ROOT
from tests.helpers.screen import jobs_table, notifications, row_keys, screen_text, status_line, visible_lines
from tests.helpers.sim import dead_port
from tests.helpers.wait import PATIENCE_S, until

NOMAD_TOKEN = "6f1c3a52-9d0e-4b7a-8c11-2e9f00d7a1b3"
CONSUL_TOKEN = "c0ffee00-1234-4abc-9def-consul-secret"
WRONG_NOMAD = "0badc0de-0000-4000-8000-wrongwrong00"
WRONG_CONSUL = "0badc0de-1111-4111-8111-wrongconsul0"


@pytest.fixture
def logged(tmp_path):
    """The CLI's logging set-up (file only, redacting), undone afterwards."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    handlers = []

    def start(settings) -> Path:
        for token in (settings.nomad.token, settings.consul.token):
            cli.add_secret(token)
        handlers.append(cli.setup_logging(settings))
        return Path(settings.log_file)

    yield start
    for handler in handlers:
        root.removeHandler(handler)
        handler.close()
    root.handlers[:], root.level = saved


def everything_shown(app) -> str:
    return "\n".join(visible_lines(app) + [screen_text(app)] + notifications(app))


async def test_forbidden_names_the_variable_and_never_shows_the_token(tmp_path, make_settings, logged):
    with SimCluster(frozen=True, acl_token=NOMAD_TOKEN, consul_token=CONSUL_TOKEN) as sim:
        log_file = tmp_path / "dtle-tui.log"
        settings = make_settings(sim, "--log-file", str(log_file), "--timeout", "1",
                                 env={"NOMAD_TOKEN": WRONG_NOMAD, "CONSUL_HTTP_TOKEN": WRONG_CONSUL})
        logged(settings)
        # The simulated Consul filters a recursive read for a token without rights to an empty 404, as
        # Consul does; an ACL error proper is a 403, forced here.
        sim.consul_faults.status = 403
        app = DtleApp(settings)
        async with app.run_test(size=(200, 24)) as pilot:
            await until(pilot, lambda: "CONSUL_HTTP_TOKEN" in status_line(app)
                        and "NOMAD_TOKEN" in status_line(app), what="403 for both")
            line = status_line(app)
            assert "Nomad: permission denied (403: ACL token not found) — check NOMAD_TOKEN" in line
            assert "Consul: permission denied (403" in line and "check CONSUL_HTTP_TOKEN" in line
            # A proxy that echoes the token it was sent: still never on screen.
            def echo(request):
                return text(403, f"token {request.headers.get('X-Nomad-Token')} is not allowed here")

            sim._nomad.app = echo
            await pilot.press("ctrl+r")
            await until(pilot, lambda: "is not allowed here" in status_line(app), what="echoed 403")
            assert "token <redacted> is not allowed here" in status_line(app)
            shown = everything_shown(app)
            for secret in (WRONG_NOMAD, WRONG_CONSUL, NOMAD_TOKEN, CONSUL_TOKEN):
                assert secret not in shown
        logged_text = log_file.read_text()
        assert "is not allowed here" in logged_text and "check NOMAD_TOKEN" in logged_text
        assert WRONG_NOMAD not in logged_text and WRONG_CONSUL not in logged_text


async def test_passwords_and_tokens_stay_off_screen_logs_and_tracebacks(tmp_path, make_settings, logged, monkeypatch):
    with SimCluster(frozen=True, acl_token=NOMAD_TOKEN, consul_token=CONSUL_TOKEN) as sim:
        job = sim.scenario.failed_job
        spec = loopback.get(f"{sim.nomad_addr}/v1/job/{job}", headers={"X-Nomad-Token": NOMAD_TOKEN}).json()
        password = spec["TaskGroups"][0]["Tasks"][0]["Config"]["ConnectionConfig"]["Password"]
        secrets = (NOMAD_TOKEN, CONSUL_TOKEN, password)
        log_file = tmp_path / "dtle-tui.log"
        settings = make_settings(sim, "--log-file", str(log_file),
                                 env={"NOMAD_TOKEN": NOMAD_TOKEN, "CONSUL_HTTP_TOKEN": CONSUL_TOKEN})
        logged(settings)
        app = DtleApp(settings)
        seen = []
        async with app.run_test(size=(120, 40)) as pilot:
            jobs = len(sim.scenario.jobs())
            await until(pilot, lambda: isinstance(app.screen, JobsScreen) and jobs_table(app).row_count == jobs)
            seen.append(everything_shown(app))
            table = jobs_table(app)
            table.move_cursor(row=row_keys(table).index(job))
            await until(pilot, lambda: app.screen.selected_job == job)
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, JobDetailScreen))
            await until(pilot, lambda: "mysql-src-08.prod" in screen_text(app), what="detail from the spec")
            seen.append(everything_shown(app))
            await pilot.press("s")
            await until(pilot, lambda: isinstance(app.screen, SpecScreen))
            assert "******" in screen_text(app)
            seen.append(everything_shown(app))
            await pilot.press("escape")
            await until(pilot, lambda: isinstance(app.screen, JobDetailScreen))
            await pilot.press("d")
            await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
            seen.append(everything_shown(app))
            await pilot.press("y")
            await until(pilot, lambda: any("stopped" in n.lower() or "deleted" in n.lower()
                                           for n in notifications(app)), what="delete reported")
            seen.append(everything_shown(app))

            # A bug whose message holds the token: the status line and the log's traceback hide it.
            def broken(value):
                raise RuntimeError(f"cannot parse nodes with token {NOMAD_TOKEN}")

            monkeypatch.setattr(poller_module, "parse_nodes", broken)  # what the nodes feed's answers go through
            await pilot.press("ctrl+r")
            await until(pilot, lambda: "internal error: RuntimeError" in status_line(app), what="bug shown")
            assert "cannot parse nodes with token <redacted>" in status_line(app)
            seen.append(everything_shown(app))
            assert app.is_running
        for shown in seen:
            for secret in secrets:
                assert secret not in shown
        logged_text = log_file.read_text()
        assert "Traceback" in logged_text and "RuntimeError: cannot parse nodes with token <redacted>" in logged_text
        for secret in secrets:
            assert secret not in logged_text
        # The backup keeps the password (re-adding the job needs it), readable by the owner only.
        backups = list((tmp_path / "state" / "dtle-tui" / "backups").rglob("job.json"))
        assert backups and password in backups[0].read_text()
        for path in backups[0].parent.iterdir():
            assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(backups[0].parent.stat().st_mode) == 0o700
        assert stat.S_IMODE(log_file.stat().st_mode) == 0o600


def test_the_cli_against_dead_ports_prints_nothing_and_quits_cleanly(tmp_path):
    """The real `dtle-tui` in a pseudo-terminal pointed at ports with nothing behind them: the screen
    says why, nothing is written to stdout, no traceback or log line reaches the terminal, `q` quits with
    status 0, and the log file has the diagnostics without the token."""
    import fcntl
    import termios

    log_file = tmp_path / "state" / "dtle-tui" / "dtle-tui.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NOMAD_", "CONSUL_"))}
    env.update(HOME=str(tmp_path), XDG_STATE_HOME=str(tmp_path / "state"), XDG_CONFIG_HOME=str(tmp_path / "cfg"),
               TERM="xterm-256color", NOMAD_TOKEN=NOMAD_TOKEN, CONSUL_HTTP_TOKEN=CONSUL_TOKEN,
               NOMAD_ADDR=f"http://127.0.0.1:{dead_port()}", CONSUL_HTTP_ADDR=f"127.0.0.1:{dead_port()}")
    main, child = pty.openpty()
    fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    # Textual paints on stderr (the terminal); anything printed to stdout would be a stray diagnostic.
    proc = subprocess.Popen([sys.executable, "-m", "dtle_tui", "--timeout", "1"], stdin=child,
                            stdout=subprocess.PIPE, stderr=child, env=env, cwd=str(ROOT),
                            start_new_session=True)
    os.close(child)
    out = b""
    try:
        deadline = time.monotonic() + PATIENCE_S
        while b"unreachable" not in out and time.monotonic() < deadline and proc.poll() is None:
            ready, _, _ = select.select([main], [], [], 0.2)
            if ready:
                try:
                    out += os.read(main, 65536)
                except OSError:
                    break
        assert b"unreachable" in out, out[-2000:]  # (never "stale since": no data ever came)
        assert proc.poll() is None, "the console exited on a network error"
        os.write(main, b"q")
        deadline = time.monotonic() + PATIENCE_S
        while proc.poll() is None and time.monotonic() < deadline:
            ready, _, _ = select.select([main], [], [], 0.2)
            if ready:
                try:
                    out += os.read(main, 65536)
                except OSError:
                    break
        assert proc.wait(timeout=PATIENCE_S) == 0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        os.close(main)
    stdout = proc.stdout.read()
    proc.stdout.close()
    assert stdout == b""
    shown = out.decode("utf-8", "replace")
    assert "Traceback" not in shown and NOMAD_TOKEN not in shown and CONSUL_TOKEN not in shown
    assert "WARNING" not in shown and "feed jobs" not in shown  # no log line leaked onto the terminal
    assert "connection refused" in shown
    logged = log_file.read_text()
    assert "unreachable" in logged and "connection refused" in logged
    assert NOMAD_TOKEN not in logged and CONSUL_TOKEN not in logged
