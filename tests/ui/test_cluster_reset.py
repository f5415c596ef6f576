"""Issue 16 through the real app: the simulator restarted under the console as a fresh `-dev` agent.

Jobs, Job detail and Nodes must then show exactly the restarted cluster's objects (not a merge of before
and after), by themselves, and the status line says once that the state was reset. (How soon is the short
back-off and blocking wait of `fast_retries`; no test times it.)
"""

from __future__ import annotations

import pytest

from dtle_tui.app import DtleApp
from dtle_tui.screens.job_detail import JobDetailScreen
from dtle_tui.screens.jobs import JobsScreen
from dtle_tui.screens.nodes import NodesScreen
from dtle_tui.sim import SimCluster
from tests.helpers.pilot import loaded, select_job
from tests.helpers.screen import jobs_table, row_keys, status_line
from tests.helpers.sim import sim_get
from tests.helpers.wait import until


def job_alloc_ids(sim: SimCluster, job_id: str) -> list:
    return sorted(a["ID"] for a in sim_get(sim.nomad_addr, f"/v1/job/{job_id}/allocations"))


def stream_live(app) -> bool:
    events = app.poller.events if app.poller is not None else None
    return events is not None and events.state == "live"


@pytest.mark.parametrize("dialect", ["1.1", "0.11"])
async def test_a_restarted_nomad_shows_only_the_new_cluster(dialect, make_settings, fast_retries):  # noqa: F811
    with SimCluster(dialect=dialect, seed=1, frozen=True) as sim:
        app = DtleApp(make_settings(sim))
        async with app.run_test(size=(80, 24)) as pilot:
            await loaded(pilot, sim)
            await select_job(pilot, "job1")
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, JobDetailScreen), "Job detail")
            allocs = app.screen.query_one("#allocs")
            before = job_alloc_ids(sim, "job1")
            await until(pilot, lambda: sorted(allocs.row_keys) == before, "job1's allocations")
            if dialect == "1.1":
                await until(pilot, lambda: stream_live(app), "the event stream live")
            else:
                await until(pilot, lambda: sim.requests.in_flight("nomad", "/v1/allocations"), "a held query")

            sim.restart_nomad()
            after = job_alloc_ids(sim, "job1")
            assert len(after) == 2 and not set(after) & set(before)
            await until(pilot, lambda: sorted(allocs.row_keys) == after,
                        "only the new cluster's allocations in Job detail")
            await until(pilot, lambda: "Nomad's state was reset" in status_line(app), "the reset said")

            await pilot.press("escape")
            await until(pilot, lambda: isinstance(app.screen, JobsScreen), "Jobs")
            jobs = sorted(j["ID"] for j in sim_get(sim.nomad_addr, "/v1/jobs"))
            assert sim.scenario.stopped_job not in jobs  # not registered again: its row must go
            await until(pilot, lambda: sorted(row_keys(jobs_table(app))) == jobs, "exactly the new cluster's jobs")
            await until(pilot, lambda: (app.snapshot.row("job1").src.describe(), app.snapshot.row("job1")
                                        .dest.describe()) == ("1 run", "1 run"), "job1: 1 src and 1 dest")

            await pilot.press("2")
            await until(pilot, lambda: isinstance(app.screen, NodesScreen), "Nodes")
            nodes = sorted(n["ID"] for n in sim_get(sim.nomad_addr, "/v1/nodes"))
            node_table = app.screen.query_one("#nodes-table")
            await until(pilot, lambda: sorted(node_table.row_keys) == nodes, "exactly the new cluster's nodes")
            assert len(nodes) == 3


async def test_a_restarted_consul_shows_only_what_it_holds_now(make_settings, fast_retries):  # noqa: F811
    with SimCluster(dialect="1.1", seed=1, frozen=True) as sim:
        app = DtleApp(make_settings(sim))
        async with app.run_test(size=(80, 24)) as pilot:
            await loaded(pilot, sim)
            await until(pilot, lambda: app.snapshot.row("job1").gtid_text, "job1's Gtid")
            assert sim.scenario.orphan_job in app.snapshot.positions
            await until(pilot, lambda: sim.requests.in_flight("consul", "/v1/kv/dtle"), "Consul's held query")

            sim.restart_consul()
            await until(pilot, lambda: not app.snapshot.positions and app.snapshot.row("job1").gtid_text is None,
                        "no positions: the new Consul holds none")
            await until(pilot, lambda: "Consul's state was reset" in status_line(app), "the reset said")
            assert all(r.rate is None and not r.stalled for r in app.snapshot.rows)
            assert app.snapshot.nomad.ok and app.snapshot.consul.error is None

            sim.scenario.advance(30)  # the dtle tasks write their positions again
            await until(pilot, lambda: app.snapshot.row("job1").gtid_text, "job1's Gtid again")
            assert sim.scenario.orphan_job not in app.snapshot.positions
            assert not app.snapshot.row("job1").stalled
