"""Alerts (--notify) and the incident report (E) driven through the real app against the simulator."""

from __future__ import annotations

import re
import stat

import pytest
from textual.drivers.headless_driver import HeadlessDriver

from dtle_tui.app import DtleApp
from dtle_tui.screens.job_detail import JobDetailScreen
from dtle_tui.textual_private import notifications
from tests.helpers.sim import sim_get, touch_dest
from tests.helpers.wait import until
from tests.ui.test_ui_console import open_jobs, select_job

STALL_S = 6.0  # above the simulator's longest Gtid upload interval (5 s): moving jobs never stall
OSC = re.compile(r"\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)")


@pytest.fixture
def terminal(monkeypatch) -> list:
    """Everything the app writes to its terminal (the headless driver would drop it)."""
    written: list = []
    monkeypatch.setattr(HeadlessDriver, "write", lambda self, data: written.append(data))
    return written


def notifications_of(written: list, needle: str) -> list:
    return re.findall(r"\x1b\]777;notify;[^\x07]*" + re.escape(needle), "".join(written))


def bells(written: list) -> int:
    """BELs that are a bell, not an OSC terminator."""
    return OSC.sub("", "".join(written)).count("\x07")


def toasts(app) -> str:
    return "\n".join(str(n.message) for n in notifications(app))


async def test_a_stalling_job_notifies_and_rings_once(sim, make_settings, terminal):
    stalled = sim.scenario.stalled_job
    app = DtleApp(make_settings(sim, "--notify", "--stall-threshold", str(STALL_S)))
    async with app.run_test(size=(80, 24)) as pilot:
        assert app.alerter is not None
        await until(pilot, lambda: any(a.kind == "stalled" and a.subject == stalled for a in app.alerter.delivered),
                    "the stall alert")
        assert app.snapshot.row(stalled).stalled
        seen = app.snapshot.generation
        # More refreshes while it stays stalled: nothing more about it.
        await until(pilot, lambda: app.snapshot.generation >= seen + 5 and app.snapshot.row(stalled).stalled,
                    "five more snapshots")
        assert len(notifications_of(terminal, f"dtle job {stalled} STALLED")) == 1
        assert len(re.findall(r"\x1b\]9;dtle job " + re.escape(stalled) + " STALLED", "".join(terminal))) == 1
        assert bells(terminal) == sum(1 for a in app.alerter.delivered if a.bell)
        assert f"dtle job {stalled} STALLED" in toasts(app)
        # Nothing for what was already so at start-up: the scenario's failed dest jobs.
        assert not any(a.kind == "dest_failed" for a in app.alerter.delivered)


async def test_dest_failure_and_unhealthy_driver_alert(frozen_sim, make_settings, terminal):
    app = DtleApp(make_settings(frozen_sim, "--notify"))
    async with app.run_test(size=(80, 24)) as pilot:
        await open_jobs(pilot, frozen_sim)
        await until(pilot, lambda: app.alerter.watch.started, "the starting point")
        state = frozen_sim.state
        node = next(n for n in state.nodes if n.dtle and n.dtle[0] and n.status == "ready")
        with state.lock:
            node.dtle = (False, "dtle: failed to connect to consul 127.0.0.1:8500")
            node.modify_index = state.bump("nodes")
        touch_dest(frozen_sim, "job1", status="failed")
        await until(pilot, lambda: {a.kind for a in app.alerter.delivered} >= {"dest_failed", "driver_unhealthy"},
                    "both alerts")
        assert len(notifications_of(terminal, "dtle job job1: dest allocation failed")) == 1
        assert len(notifications_of(terminal, f"dtle driver unhealthy on node {node.name}")) == 1
        assert bells(terminal) == 2
        assert "failed to connect to consul" in toasts(app)


async def test_without_notify_nothing_is_written(frozen_sim, make_settings, terminal):
    app = DtleApp(make_settings(frozen_sim))
    async with app.run_test(size=(80, 24)) as pilot:
        await open_jobs(pilot, frozen_sim)
        assert app.alerter is None
        touch_dest(frozen_sim, "job1", status="failed")
        await until(pilot, lambda: app.snapshot.row("job1").dest.failed == 1, "job1's dest failed")
        joined = "".join(terminal)
        assert "]777;" not in joined and "]9;" not in joined and bells(terminal) == 0
        assert "dest allocation failed" not in toasts(app)


async def test_E_writes_the_report_in_read_only_mode_without_secrets(frozen_sim, make_settings, tmp_path):
    job = frozen_sim.scenario.failed_job
    app = DtleApp(make_settings(frozen_sim, "--read-only"))
    async with app.run_test(size=(80, 24)) as pilot:
        await open_jobs(pilot, frozen_sim)
        await select_job(pilot, job)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, JobDetailScreen))
        allocs = sim_get(frozen_sim.nomad_addr, f"/v1/job/{job}/allocations")
        await until(pilot, lambda: app.snapshot.detail and app.snapshot.detail.job is not None
                    and len(app.snapshot.detail.allocations) == len(allocs), "the job's detail")
        await pilot.press("E")
        await until(pilot, lambda: "Incident report written:" in toasts(app), "the report's path")
        found = list((tmp_path / "state" / "dtle-tui" / "reports").rglob("*.md"))
        assert len(found) == 1, found
        path = found[0]
        port = frozen_sim.nomad_addr.rsplit(":", 1)[1]
        assert path.parent.name == f"127.0.0.1%3A{port}"  # <cluster>: no context, so Nomad's host:port
        assert str(path) in toasts(app) and re.fullmatch(rf"{job}-\d{{8}}T\d{{6}}\.\d{{3}}Z\.md", path.name)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        text = path.read_text()
        assert text.startswith(f"# Incident report: dtle job {job}")
        for a in allocs:
            assert a["ID"][:8] in text
        assert "mysql-src-08.prod:3306" in text and "## Last error" in text and "```" in text
        spec = sim_get(frozen_sim.nomad_addr, f"/v1/job/{job}")
        password = spec["TaskGroups"][0]["Tasks"][0]["Config"]["ConnectionConfig"]["Password"]
        assert password and password not in text
        commands = {c.title: c.help for c in app.get_system_commands(app.screen) if "report" in c.title.lower()}
        assert commands == {"Write the job's incident report (Markdown for a ticket; allowed in read-only mode)":
                            "Job detail: E"}


async def test_a_context_switch_is_a_new_start_and_notify_is_per_context(tmp_path, terminal):
    from dtle_tui.config.settings import load_settings
    from dtle_tui.sim import SimCluster

    with SimCluster(frozen=True) as staging, SimCluster(jobs=5, frozen=True) as prod:
        config = tmp_path / "config" / "dtle-tui" / "config.toml"
        config.parent.mkdir(parents=True)
        config.write_text(
            'default_context = "staging"\n\n'
            f'[contexts.staging]\nnomad_addr = "{staging.nomad_addr}"\nconsul_addr = "{staging.consul_addr}"\n'
            'notify = true\n\n'
            f'[contexts.prod]\nnomad_addr = "{prod.nomad_addr}"\nconsul_addr = "{prod.consul_addr}"\n'
            'notify = true\n\n'
            f'[contexts.quiet]\nnomad_addr = "{staging.nomad_addr}"\nconsul_addr = "{staging.consul_addr}"\n'
        )
        env = {"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "config"),
               "XDG_STATE_HOME": str(tmp_path / "state")}
        app = DtleApp(load_settings(["--refresh", "0.5"], env))
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: app.alerter is not None and app.alerter.watch.started, "staging watched")
            app.switch_context("prod")
            prod_jobs = {j["ID"] for j in prod.scenario.jobs()}
            await until(pilot, lambda: {r.id for r in app.snapshot.rows} == prod_jobs
                        and app.snapshot.nomad.ok_at and app.alerter.watch.started, "prod's jobs watched")
            # Whatever prod's jobs already were (another cluster's start-up) is not news.
            assert list(app.alerter.delivered) == []
            job = next(r.id for r in app.snapshot.rows if r.dest.running and not r.dest.failed)
            touch_dest(prod, job, status="failed")
            await until(pilot, lambda: [(a.kind, a.subject) for a in app.alerter.delivered] == [("dest_failed", job)],
                        "prod's alert")
            app.switch_context("quiet")
            assert app.alerter is None
            before = "".join(terminal)
            await until(pilot, lambda: app.snapshot.rows and app.snapshot.nomad.ok_at, "quiet's jobs")
            touch_dest(staging, "job1", status="failed")
            await until(pilot, lambda: app.snapshot.row("job1").dest.failed == 1, "job1 failed")
            assert "]777;" not in "".join(terminal)[len(before):]


async def test_on_a_quiet_cluster_jobs_crossing_the_threshold_together_make_one_summary(frozen_sim, make_settings,
                                                                                       terminal, long_blocking_queries):
    # Nothing moves in the frozen cluster and held queries wait 10 minutes: no feed answers when the
    # threshold passes, so this also needs the poller's own rebuild at the stall due time.
    app = DtleApp(make_settings(frozen_sim, "--notify", "--stall-threshold", "2"))
    async with app.run_test(size=(80, 24)) as pilot:
        await open_jobs(pilot, frozen_sim)
        await until(pilot, lambda: list(app.alerter.delivered), "an alert")
        stalled = sorted(r.id for r in app.snapshot.rows if r.stalled)
        assert len(stalled) > 3  # more than the burst: one summary
        (summary,) = app.alerter.delivered
        assert summary.kind == "summary" and summary.count == len(stalled) and summary.bell
        assert f"{len(stalled)} stalled: " in summary.body
        assert len(re.findall(r"\x1b\]777;notify;", "".join(terminal))) == 1 and bells(terminal) == 1
        assert f"dtle: {len(stalled)} alerts" in toasts(app)
