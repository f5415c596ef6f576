"""Triage first (issue 23), through Pilot against the simulator over real HTTP: Jobs opens with the jobs that
need the operator on top, their verdict, the stage reached and a reason at 80 columns; the counts line; `o`
cycles back to the attention order; `!` shows only the jobs that need attention, with `/` too; a job whose
Gtid stands still reads stalled; evaluations are read for the jobs that cannot be placed only."""

from __future__ import annotations

from dtle_tui.app import DtleApp
from dtle_tui.model.attention import ATTENTION_SORT, attention_counts, attention_order, counts_text
from dtle_tui.model.verdict import VerdictKind
from dtle_tui.screens.jobs import JobsScreen
from dtle_tui.sim.scenario import dtle_spec
from tests.helpers import loopback
from tests.helpers.pilot import settled
from tests.helpers.screen import table_lines, visible_lines
from tests.helpers.sim import sim_get
from tests.helpers.wait import until

UNPLACEABLE = "reports-v2"  # sim/realdtle.py: its dest asks for more memory than any node has
CRASH_LOOP = "sales-mariadb"  # sim/realdtle.py: its src fails at every start on Error 1193


def attention_ids(app) -> list[str]:
    return [r.id for r in attention_order(app.snapshot.rows, lambda r: r.verdict, lambda r: r.id)]


def verdict_of(app, job_id: str):
    row = app.snapshot.row(job_id)
    return row.verdict if row is not None else None


async def jobs_ready(pilot, app) -> JobsScreen:
    """Every job listed with its verdict, the placement reasons read (the cluster has nothing more to say)."""
    count = len(sim_get(app.settings.nomad.addr, "/v1/jobs"))
    await until(pilot, lambda: isinstance(app.screen, JobsScreen) and app.screen.table.row_count == count
                and verdict_of(app, UNPLACEABLE) is not None and "not enough" in verdict_of(app, UNPLACEABLE).reason,
                "every job listed, the unplaceable one with its reason")
    await settled(pilot)
    return app.screen


async def test_jobs_open_with_the_problems_first_their_reason_at_80_columns_and_the_counts(frozen_sim, make_settings):
    app = DtleApp(make_settings(frozen_sim))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await jobs_ready(pilot, app)
        table = screen.table
        assert screen.sort_key == ATTENTION_SORT
        assert table.row_keys == attention_ids(app)
        kinds = [verdict_of(app, job_id).kind for job_id in table.row_keys]
        ranks = [verdict_of(app, job_id).rank for job_id in table.row_keys]
        assert ranks == sorted(ranks) and kinds[0] is VerdictKind.FAILING
        assert {VerdictKind.FAILING, VerdictKind.QUEUED} <= set(kinds)
        assert kinds.index(VerdictKind.QUEUED) < kinds.index(VerdictKind.RUNNING)
        assert table.cursor_row == 0 and screen.selected_job == table.row_keys[0]

        # At 80 columns: ID, verdict, stage reached, src, dest, reason; no Gtid txns, rate or age.
        lines = table_lines(app)
        assert lines[0].split() == ["ID", "Verdict", "Reached", "Src", "Dest", "Reason"]
        assert all(len(line) <= 80 for line in lines)
        line = next(line for line in lines if line.split()[:1] == [UNPLACEABLE])
        assert line.split()[1:3] == ["queued", "—"] and "not enough memory" in line
        line = next(line for line in lines if line.split()[:1] == [CRASH_LOOP])
        assert line.split()[1] == "failing" and "retry" in line and "Error" in line
        # The stage reached of a failing job is never its current state: its dest fails at every start.
        assert line.split()[2] == "—"

        # The counts, on screen at 80 columns, as the core counts them.
        counts = counts_text(attention_counts(r.verdict for r in app.snapshot.rows))
        assert "failing" in counts and "not placed" in counts
        assert any(f"Needs attention: {counts}" in text for text in visible_lines(app))


async def test_o_sorts_by_each_column_then_back_to_the_attention_order(frozen_sim, make_settings):
    app = DtleApp(make_settings(frozen_sim))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await jobs_ready(pilot, app)
        attention = screen.table.row_keys
        await pilot.press("o")
        assert screen.sort_key == "id" and screen.table.row_keys == sorted(attention)
        assert "ID ▲" in table_lines(app)[0]
        seen = ["id"]
        for _ in range(len(screen.columns) - 1):
            await pilot.press("o")
            seen.append(screen.sort_key)
        assert seen == list(screen.columns)
        await pilot.press("o")
        await until(pilot, lambda: screen.sort_key == ATTENTION_SORT, "back to the attention order")
        # The order of the verdicts of now: a verdict may have moved on meanwhile (a restart came due).
        await until(pilot, lambda: screen.table.row_keys == [r.id for r in attention_order(
            app.snapshot.rows, lambda r: r.verdict, lambda r: r.id)], "the rows in the attention order")
        # The choice stays while the operator visits a job.
        await pilot.press("o", "o")  # by verdict
        assert screen.sort_key == "verdict"
        await pilot.press("enter")
        await until(pilot, lambda: app.screen is not screen, "a job opened")
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is screen, "back on Jobs")
        assert screen.sort_key == "verdict"


async def test_bang_shows_only_the_jobs_that_need_attention_says_so_and_works_with_the_filter(
        frozen_sim, make_settings):
    app = DtleApp(make_settings(frozen_sim))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await jobs_ready(pilot, app)
        table = screen.table
        everything = table.row_keys
        needing = [job_id for job_id in everything if verdict_of(app, job_id).needs_attention]
        assert 0 < len(needing) < len(everything)
        await pilot.press("exclamation_mark")
        await until(pilot, lambda: table.row_keys == needing, "only the jobs that need attention")
        counts = counts_text(attention_counts(r.verdict for r in app.snapshot.rows))
        assert any(f"Showing only: {counts}  (! shows all)" in text for text in visible_lines(app))

        # With `/`: both apply.
        await pilot.press("slash", *"sales")
        await until(pilot, lambda: table.row_keys == [CRASH_LOOP], "filtered among them")
        await pilot.press("enter")
        await until(pilot, lambda: screen.focused is table, "back in the table")
        await pilot.press("exclamation_mark")  # every job again, the filter still on
        await until(pilot, lambda: not screen.only_attention, "! off")
        await until(pilot, lambda: table.row_keys == [j for j in everything if "sales" in j], "! off, filter on")
        await until(pilot, lambda: any(f"Needs attention: {counts}" in text for text in visible_lines(app)), "said")
        await pilot.press("exclamation_mark")
        await pilot.press("escape")  # clears the filter, `!` stays
        await until(pilot, lambda: table.row_keys == needing, "filter cleared, ! on")
        await pilot.press("exclamation_mark")
        await until(pilot, lambda: table.row_keys == everything, "every job")


async def test_a_job_whose_gtid_stands_still_reads_stalled_with_its_reason(sim, make_settings):
    app = DtleApp(make_settings(sim, "--stall-threshold", "2"))
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: verdict_of(app, sim.scenario.stalled_job) is not None
                    and verdict_of(app, sim.scenario.stalled_job).kind is VerdictKind.STALLED, "users-stalled stalled")
        line = await until(pilot, lambda: next((text for text in table_lines(app)
                                                if text.split()[:1] == [sim.scenario.stalled_job]), None), "its row")
        assert line.split()[1:3] == ["stalled", "incr"] and "Gtid unchanged" in line
        await until(pilot, lambda: any("1 stalled" in text for text in visible_lines(app)), "counted")


async def test_evaluations_are_read_for_the_jobs_that_cannot_be_placed_only(frozen_sim, make_settings):
    for n in range(5):  # healthy jobs more: no evaluation read for any of them
        spec = dtle_spec(f"extra-{n}", "mysql-src.prod", "mysql-dst.prod", "db", "pw")
        loopback.post(frozen_sim.nomad_addr + "/v1/jobs", json={"Job": spec}, timeout=5).raise_for_status()
    frozen_sim.reset_requests()
    app = DtleApp(make_settings(frozen_sim))
    async with app.run_test(size=(80, 24)) as pilot:
        await jobs_ready(pilot, app)
        queued = {r.id for r in app.snapshot.rows if r.src.queued or r.dest.queued}
        assert UNPLACEABLE in queued
        for row in app.snapshot.rows:
            reads = frozen_sim.request_count("nomad", f"/v1/job/{row.id}/evaluations")
            assert (reads > 0) is (row.id in queued), row.id
        assert sum(frozen_sim.request_count("nomad", f"/v1/job/{j}/evaluations") for j in queued) <= 2 * len(queued)
