"""The operator console driven through Pilot against the simulator over real HTTP (issue 3)."""

from __future__ import annotations

import pytest
from textual.command import CommandPalette
from textual.widgets import Input

from dtle_tui.app import DtleApp
from dtle_tui.screens.allocation import AllocationScreen
from dtle_tui.screens.help import HelpScreen
from dtle_tui.screens.job_detail import JobDetailScreen
from dtle_tui.screens.jobs import JobsScreen
from dtle_tui.screens.nodes import NodesScreen
from dtle_tui.screens.spec import SpecScreen
from tests.helpers import loopback
from tests.helpers.pilot import select_job
from tests.helpers.screen import focused_id, jobs_table, palette_highlighted, row_keys, screen_text
from tests.helpers.sim import sim_get
from tests.helpers.wait import until


async def open_jobs(pilot, sim) -> list[str]:
    expected = sorted(j["ID"] for j in sim_get(sim.nomad_addr, "/v1/jobs"))
    await until(pilot, lambda: isinstance(pilot.app.screen, JobsScreen)
                and jobs_table(pilot.app).row_count == len(expected), what="every job listed")
    # The job list is shown as soon as /v1/jobs answers; stages need /v1/allocations too. nomad.ok_at is
    # set once every Nomad feed has answered.
    await until(pilot, lambda: pilot.app.snapshot.nomad.ok_at and pilot.app.snapshot.consul.ok_at,
                what="every feed answered")
    return expected


@pytest.mark.parametrize("dialect", ["1.1", "0.11"])
async def test_jobs_screen_shows_every_job_with_status_stage_and_gtid(dialect, make_settings):
    from dtle_tui.sim import SimCluster

    with SimCluster(dialect=dialect, frozen=True) as sim:
        app = DtleApp(make_settings(sim))
        async with app.run_test(size=(120, 24)) as pilot:  # Gtid txns from 120 columns
            expected = await open_jobs(pilot, sim)
            assert sorted(row_keys(jobs_table(app))) == expected  # in attention order: tests/ui/test_triage.py
            await until(pilot, lambda: app.snapshot and app.snapshot.consul.ok_at, what="Consul read")
            rows = {r.id: r for r in app.snapshot.rows}
            scenario = sim.scenario
            assert rows[scenario.stopped_job].status == "stopped"
            assert rows[scenario.kafka_job].stage.label == "—"
            assert rows["job1"].stage.label == "incr"
            assert all(rows[j].stage.label == "full" for j in scenario.full_jobs)
            assert rows[scenario.failed_job].dest.failed >= 1
            text = screen_text(app)
            assert "mig-[b]ops" in text  # markup shown literally, not as bold "mig-ops"
            from dtle_tui.model.gtid import GtidSet

            want = GtidSet.parse(scenario.gtid("job10")).transactions
            assert rows["job10"].transactions == want
            assert f"{want:,}" in text


async def test_filter_sort_and_cursor_follow_the_same_job(frozen_sim, make_settings):
    app = DtleApp(make_settings(frozen_sim))
    async with app.run_test(size=(80, 24)) as pilot:
        expected = await open_jobs(pilot, frozen_sim)
        await select_job(pilot, "job10")
        await pilot.press("slash")
        await until(pilot, lambda: focused_id(app) == "filter", what="the filter box focused")
        await pilot.press(*"job1")
        table = jobs_table(app)
        await until(pilot, lambda: row_keys(table) == ["job1", "job10"], what="filtered to job1, job10")
        assert app.screen.selected_job == "job10"
        await pilot.press("enter")  # applies the filter, focus back on the table
        await pilot.press("escape")
        await until(pilot, lambda: table.row_count == len(expected), what="filter cleared")
        assert app.screen.selected_job == "job10"
        await pilot.press("o", "o")  # from the attention order: by ID, then by Verdict
        await until(pilot, lambda: app.screen.sort_key == "verdict")
        keys = row_keys(table)
        ranks = [next(r.verdict.rank for r in app.snapshot.rows if r.id == k) for k in keys]
        assert ranks == sorted(ranks) and len(set(ranks)) > 1
        assert app.screen.selected_job == "job10"
        await pilot.press("O")
        await until(pilot, lambda: row_keys(table) != keys, what="reversed")
        assert app.screen.selected_job == "job10"


async def test_enter_opens_job_detail_with_allocations_events_and_masked_spec(frozen_sim, make_settings):
    job = frozen_sim.scenario.failed_job
    app = DtleApp(make_settings(frozen_sim))
    async with app.run_test(size=(120, 40)) as pilot:
        await open_jobs(pilot, frozen_sim)
        await select_job(pilot, job)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, JobDetailScreen))
        allocs = sim_get(frozen_sim.nomad_addr, f"/v1/job/{job}/allocations")
        table = app.screen.query_one("#allocs")
        await until(pilot, lambda: table.row_count == len(allocs), what="allocations listed")
        await until(pilot, lambda: "mysql-src-08.prod:3306" in screen_text(app), what="endpoints from spec")
        text = screen_text(app)
        assert "Gtid" in text and "→" in text
        events = app.screen.query_one("#events")
        await until(pilot, lambda: events.row_count > 0, what="events of the selected allocation")
        # Newest first.
        times = [str(events.get_row_at(i)[0]) for i in range(events.row_count)]
        assert times == sorted(times, reverse=True)

        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, SpecScreen))
        spec_text = screen_text(app)
        password = sim_get(frozen_sim.nomad_addr, f"/v1/job/{job}")["TaskGroups"][0]["Tasks"][0]["Config"][
            "ConnectionConfig"]["Password"]
        assert password and password not in spec_text
        assert "******" in spec_text
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, JobDetailScreen))

        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, JobsScreen))
        assert app.screen.selected_job == job


async def test_allocation_detail_shows_the_failure_and_reschedule_history(frozen_sim, make_settings):
    job = frozen_sim.scenario.failed_job
    allocs = sim_get(frozen_sim.nomad_addr, f"/v1/job/{job}/allocations")
    failed = next(a for a in allocs if a["ClientStatus"] == "failed")
    replacement = next(a for a in allocs if a["ID"] != failed["ID"] and a["TaskGroup"] == "dest")
    app = DtleApp(make_settings(frozen_sim))
    async with app.run_test(size=(120, 40)) as pilot:
        await open_jobs(pilot, frozen_sim)
        await select_job(pilot, job)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, JobDetailScreen))
        table = app.screen.query_one("#allocs")
        await until(pilot, lambda: table.row_count == len(allocs))
        table.move_cursor(row=row_keys(table).index(failed["ID"]))
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, AllocationScreen))
        await until(pilot, lambda: "Error:" in screen_text(app), what="the error text")
        text = screen_text(app)
        assert "DstPutNats" in text
        assert failed["ID"] in text
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, JobDetailScreen))
        table = app.screen.query_one("#allocs")
        table.move_cursor(row=row_keys(table).index(replacement["ID"]))
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, AllocationScreen)
                    and app.screen.alloc_id == replacement["ID"])
        await until(pilot, lambda: "Reschedule history" in screen_text(app), what="reschedule history")
        assert failed["ID"][:8] in screen_text(app)


async def test_nodes_screen_shows_driver_health(frozen_sim, make_settings):
    app = DtleApp(make_settings(frozen_sim))
    async with app.run_test(size=(200, 50)) as pilot:
        await open_jobs(pilot, frozen_sim)
        await pilot.press("2")
        await until(pilot, lambda: isinstance(app.screen, NodesScreen))
        table = app.screen.query_one("#nodes-table")
        nodes = sim_get(frozen_sim.nomad_addr, "/v1/nodes")
        await until(pilot, lambda: table.row_count == len(nodes) == 3)
        text = screen_text(app)
        assert "UNHEALTHY" in text and "healthy" in text and "down" in text
        assert "3.21.11.0" in text
        await pilot.press("1")
        await until(pilot, lambda: isinstance(app.screen, JobsScreen))


async def test_help_refresh_palette_and_quit(frozen_sim, make_settings):
    app = DtleApp(make_settings(frozen_sim))
    async with app.run_test(size=(80, 24)) as pilot:
        await open_jobs(pilot, frozen_sim)
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        assert "Gtid" in screen_text(app)
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, JobsScreen))
        frozen_sim.reset_requests()
        await pilot.press("ctrl+r")
        await until(pilot, lambda: frozen_sim.request_count(service="nomad") >= 1, what="a refresh request")
        await pilot.press("ctrl+p")
        await until(pilot, lambda: isinstance(app.screen, CommandPalette) and isinstance(app.focused, Input))
        await pilot.press(*"Nodes")
        await until(pilot, lambda: "Nodes screen" in palette_highlighted(app), "the command found")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, NodesScreen), what="palette switched to Nodes")
        await pilot.press("q")
        await until(pilot, lambda: not app.is_running, what="quit")


async def test_a_change_in_the_cluster_shows_by_itself(sim, make_settings, long_blocking_queries):
    """Blocking queries and the event stream: a purge made behind the console's back disappears from the
    table without a key press, and without a held query's wait running out (10 minutes here)."""

    app = DtleApp(make_settings(sim))
    async with app.run_test(size=(80, 24)) as pilot:
        await open_jobs(pilot, sim)
        loopback.delete(sim.nomad_addr + "/v1/job/reports-incr?purge=true").raise_for_status()
        await until(pilot, lambda: "reports-incr" not in row_keys(jobs_table(app)), "the purged job gone")


async def reads_of_one_refresh(jobs: int, make_settings) -> list:
    """The requests one ctrl+r sends to a cluster of `jobs` jobs, once the console has settled."""
    from dtle_tui.sim import SimCluster

    with SimCluster(jobs=jobs, frozen=True) as sim:
        app = DtleApp(make_settings(sim))
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: jobs_table(app).row_count == jobs)
            await until(pilot, lambda: app.snapshot.consul.ok_at and app.snapshot.nodes)
            # The event stream is opened after the first full reads: counted from before it is live, its
            # own request would be counted as the refresh's.
            await until(pilot, lambda: app.poller.events is not None and app.poller.events.state == "live")
            sim.reset_requests()
            await pilot.press("ctrl+r")

            def reads() -> list:
                # The refresh's reads; a feed that blocks then re-arms one held query (index + wait).
                return [e for e in sim.requests.entries() if "wait=" not in e[3]]

            await until(pilot, lambda: len(reads()) >= 6, what=f"reads at {jobs} jobs")
            await pilot.pause(0.5)  # a straggler of this refresh would arrive now
            return sorted((e[0], e[2]) for e in reads())


async def test_requests_per_refresh_do_not_grow_with_jobs(make_settings):
    """One refresh costs the same requests at 10 and at 1,000 jobs: no per-job requests."""
    small = await reads_of_one_refresh(10, make_settings)
    large = await reads_of_one_refresh(1000, make_settings)
    # /v1/jobs, /v1/allocations, /v1/nodes, /v1/agent/self and two Consul reads (dtle/ and dtleJobList/,
    # never the bare prefix dtle, which covers dtleUser/), whatever the number of jobs
    assert small == large
    assert len(small) == 6
    assert [p for s, p in small if s == "consul"] == ["/v1/kv/dtle/", "/v1/kv/dtleJobList/"]


async def test_palette_offers_the_screen_actions_and_runs_them(frozen_sim, make_settings):
    app = DtleApp(make_settings(frozen_sim))
    async with app.run_test(size=(100, 30)) as pilot:
        await open_jobs(pilot, frozen_sim)
        await select_job(pilot, "job10")
        commands = {c.title: c.help for c in app.get_system_commands(app.screen)}
        # Generated from the screen's bindings, each with its key.
        assert commands["Delete (stop) the job"] == "Jobs: d"
        assert commands["Reset the job's Gtid in Consul"] == "Jobs: G"
        assert commands["Filter by substring"] == "Jobs: /"
        assert commands["Nodes screen"] == "anywhere: 2"
        await pilot.press("ctrl+p")
        await until(pilot, lambda: isinstance(app.screen, CommandPalette) and isinstance(app.focused, Input))
        await pilot.press(*"Open the job")
        await until(pilot, lambda: "Open the job" in palette_highlighted(app), "the command found")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, JobDetailScreen) and app.screen.job_id == "job10")


async def test_read_only_palette_has_no_write_actions(frozen_sim, make_settings):
    app = DtleApp(make_settings(frozen_sim, "--read-only"))
    async with app.run_test(size=(100, 30)) as pilot:
        await open_jobs(pilot, frozen_sim)
        titles = " ".join(c.title for c in app.get_system_commands(app.screen))
        assert "Delete" not in titles and "Purge" not in titles and "Reset Gtid" not in titles


async def test_screen_key_on_a_detail_returns_to_its_list(frozen_sim, make_settings):
    """`1` on Job detail or Allocation (opened from Jobs) goes back to the Jobs list and stops their reads."""
    app = DtleApp(make_settings(frozen_sim))
    async with app.run_test(size=(100, 30)) as pilot:
        await open_jobs(pilot, frozen_sim)
        await select_job(pilot, "job10")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, JobDetailScreen))
        await pilot.press("1")
        await until(pilot, lambda: isinstance(app.screen, JobsScreen) and len(app.screen_stack) == 1,
                    what="back on the Jobs list")
        await until(pilot, lambda: app.poller.open_job.job_id is None, what="the detail's reads stopped")
        assert app.screen.selected_job == "job10"
        # on the list itself, `1` changes nothing
        await pilot.press("1")
        await pilot.pause(0.2)
        assert isinstance(app.screen, JobsScreen) and app.screen.selected_job == "job10"
