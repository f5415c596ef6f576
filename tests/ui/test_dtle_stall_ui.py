"""A stall known at start-up from dtle's own frozen delay, and the jobs that are not dtle's, on the Jobs screen
at 200x50 with dtle's API on (as in the demo), through Pilot against the simulator over real HTTP.

dtle's delay outliving two of its 15 s ticks is judged by dtle's own clock (the `timestamp` of its
answers), so the test moves the simulator's clock instead of waiting; the rows are read every ROWS_S,
shortened here."""

from __future__ import annotations

from dtle_tui.app import DtleApp
from dtle_tui.live import monitor as monitor_mod
from dtle_tui.model.verdict import VerdictKind
from dtle_tui.screens.jobs import JobsScreen
from dtle_tui.sim.sidecar import SIDECAR_JOB
from tests.helpers import loopback
from tests.helpers.wait import until

STALLED = "users-stalled"  # sim/scenario.py: incremental, its Gtid and dtle's delay frozen
OTHERS = ("pt-heartbeat", SIDECAR_JOB)  # raw_exec jobs beside the migrations


def asked_for(sim, job_id: str) -> int:
    """How many times the console asked dtle's API about this job's allocations."""
    ids = {a.id for a in sim.scenario.allocations(job_id)}
    return sum(1 for server, _m, _p, query in sim.requests.entries()
               if server == "dtle" and query.split("allocation_id=")[-1].split("&")[0] in ids)


def cell(app, job_id: str, column: str) -> str:
    return app.screen.table.get_cell(job_id, column).plain


async def test_a_frozen_delay_reads_stalled_within_the_first_readings(sim, make_settings, monkeypatch):
    monkeypatch.setattr(monitor_mod, "ROWS_S", 0.3)
    app = DtleApp(make_settings(sim, "--dtle-api", "nodes"))
    async with app.run_test(size=(200, 50)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, JobsScreen) and STALLED in app.screen.table.row_keys
                    and cell(app, STALLED, "dtle").startswith("delay "), "dtle's delay on the stalled job's row")
        delay = cell(app, STALLED, "dtle").split()[1].rstrip("s!")
        # Readings a fraction of a second apart hold no tick of dtle's: not yet evidence.
        asked = asked_for(sim, STALLED)
        await until(pilot, lambda: asked_for(sim, STALLED) >= asked + 4, "more readings of the stalled job")
        assert app.snapshot.row(STALLED).verdict.kind is VerdictKind.RUNNING
        sim.scenario.advance(31)  # dtle's clock moves past two of its ticks; the delay stays put
        await until(pilot, lambda: app.snapshot.row(STALLED).verdict.kind is VerdictKind.STALLED, "STALLED")
        row = app.snapshot.row(STALLED)
        assert not row.stalled  # the Gtid's own threshold (300 s by the console's clock) has not passed
        await until(pilot, lambda: cell(app, STALLED, "verdict") == "stalled"
                    and cell(app, STALLED, "reason") == f"dtle delay frozen at {delay}s", "the row says why")
        assert "1 stalled" in str(app.screen.query_one("#jobs-counts").content)  # the counts line
        assert app.screen.table.row_keys.index(STALLED) < app.screen.table.row_keys.index("job1")  # problems first
        # A job whose Gtid moves never reads so, whatever the clock did.
        assert app.snapshot.row("job1").verdict.kind is VerdictKind.RUNNING


async def test_jobs_of_another_driver_show_no_dtle_figures_and_no_dest(trouble_sim, make_settings, monkeypatch):
    sim = trouble_sim
    monkeypatch.setattr(monitor_mod, "ROWS_S", 0.3)
    app = DtleApp(make_settings(sim, "--dtle-api", "nodes"))
    async with app.run_test(size=(200, 50)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, JobsScreen)
                    and all(j in app.screen.table.row_keys for j in OTHERS)
                    and cell(app, "job1", "dtle").startswith("delay "), "the rows with dtle's figures")
        asked = asked_for(sim, "job1")
        await until(pilot, lambda: asked_for(sim, "job1") >= asked + 2, "the rows in view asked again")
        for job_id, group in zip(OTHERS, ("heartbeat", "exporter")):
            row = app.snapshot.row(job_id)
            assert not row.is_dtle and row.verdict.kind is VerdictKind.RUNNING
            assert (cell(app, job_id, "dtle"), cell(app, job_id, "src"), cell(app, job_id, "dest"),
                    cell(app, job_id, "stage")) == ("", "—", "—", "—")
            assert cell(app, job_id, "reason") == f"not dtle: {group} 1 run"
            assert asked_for(sim, job_id) == 0  # dtle is never asked about another driver's task
    # Asked anyway, dtle knows no such task, as real dtle (its registry holds the tasks it runs).
    heartbeat = next(a for a in sim.scenario.allocations("pt-heartbeat") if a.client_status == "running")
    api = sim.dtle_apis.of(heartbeat.node.name)
    answer = loopback.get(f"http://{api.node.address}:{api.dtle.port}/v2/monitor/task",
                       params={"allocation_id": heartbeat.id, "task_name": "heartbeat"}, timeout=30)
    assert answer.status_code == 500 and answer.json()["message"].startswith("can not find the task")


async def test_job_detail_reads_stalled_from_the_frozen_delay(sim, make_settings, monkeypatch):
    monkeypatch.setattr(monitor_mod, "DETAIL_S", 0.3)
    app = DtleApp(make_settings(sim, "--dtle-api", "nodes"))
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, JobsScreen) and STALLED in app.screen.table.row_keys,
                    "the jobs")
        app.open_job(STALLED)

        def detail():
            d = app.snapshot.detail
            return d if d is not None and d.job_id == STALLED and d.verdict is not None else None

        await until(pilot, lambda: detail() is not None and STALLED in app.snapshot.dtle
                    and app.snapshot.dtle[STALLED].delay_s, "the detail with dtle's delay")
        asked = asked_for(sim, STALLED)
        await until(pilot, lambda: asked_for(sim, STALLED) >= asked + 4, "more readings")
        assert detail().verdict.kind is VerdictKind.RUNNING  # readings under 30 s apart: not yet
        sim.scenario.advance(31)
        await until(pilot, lambda: detail().verdict.kind is VerdictKind.STALLED, "STALLED on Job detail")
        assert "queue is stuck" in detail().verdict.detail and detail().stalled_since is None
        await until(pilot, lambda: "STALLED: the tasks run but dtle's delay has stayed at"
                    in app.screen.query_one("#summary").content.plain, "the verdict line says why")


async def test_at_80_columns_the_incremental_rows_are_still_read_and_the_stall_shows(sim, make_settings, monkeypatch):
    """At 80 columns there is no Progress/Delay column, but the incremental rows in view are still read, so
    the stall shows at once on the row an operator sees over SSH; the full-copy rows are not asked about."""
    monkeypatch.setattr(monitor_mod, "ROWS_S", 0.3)
    app = DtleApp(make_settings(sim, "--dtle-api", "nodes"))
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, JobsScreen) and STALLED in app.screen.table.row_keys,
                    "the stalled job listed")
        assert "dtle" not in app.screen.columns
        await until(pilot, lambda: asked_for(sim, STALLED) >= 2, "dtle asked about the incremental row")
        sim.scenario.advance(31)
        await until(pilot, lambda: cell(app, STALLED, "verdict") == "stalled", "STALLED at 80 columns")
        assert cell(app, STALLED, "reason").startswith("dtle delay frozen")
        full = [r.id for r in app.snapshot.rows if r.is_dtle and r.stage is not None and r.stage.name == "FULL"]
        assert full and all(asked_for(sim, job_id) == 0 for job_id in full)
