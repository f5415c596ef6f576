"""Issue 18 through the real app: the tokens operators really have, against policy-scoped sim tokens."""

from __future__ import annotations

import json

import pytest

from dtle_tui.app import DtleApp
from dtle_tui.screens.confirm import ConfirmScreen
from dtle_tui.screens.jobs import JobsScreen
from dtle_tui.screens.nodes import NodesScreen
from dtle_tui.sim import SimCluster
from tests.helpers import loopback
from tests.helpers.paths import FIXTURES
from tests.helpers.screen import jobs_table, row_keys, screen_text, status_line, visible_lines
from tests.helpers.sim import dead_port
from tests.helpers.wait import until
from tests.ui.test_action_keys import notes, select

TOKENS = {"read": "5a7e9c10-0000-4d6e-9f0a-6f1c2b3d4e01", "write": "5a7e9c10-0000-4d6e-9f0a-6f1c2b3d4e02",
          "management": "5a7e9c10-0000-4d6e-9f0a-6f1c2b3d4e03"}


def cluster(dialect: str = "1.1") -> SimCluster:
    return SimCluster(dialect=dialect, seed=1, frozen=True, acl_tokens={s: k for k, s in TOKENS.items()})


def job_ids(sim: SimCluster) -> list:
    answer = loopback.get(sim.nomad_addr + "/v1/jobs", headers={"X-Nomad-Token": TOKENS["management"]})
    return sorted(j["ID"] for j in answer.json())


def register(sim: SimCluster, job_id: str) -> None:
    spec = json.loads((FIXTURES / "reference" / "dtle_job_example.json").read_text())
    spec["Job"]["ID"] = job_id
    loopback.post(sim.nomad_addr + "/v1/jobs", json=spec,
               headers={"X-Nomad-Token": TOKENS["management"]}).raise_for_status()


@pytest.mark.parametrize("dialect", ["1.1", "0.11"])
async def test_a_read_token_keeps_jobs_live_and_nodes_explain_themselves(dialect, make_settings, long_blocking_queries):
    with cluster(dialect) as sim:
        app = DtleApp(make_settings(sim, env={"NOMAD_TOKEN": TOKENS["read"]}))
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: isinstance(app.screen, JobsScreen)
                        and sorted(row_keys(jobs_table(app))) == job_ids(sim), "every job listed")
            await until(pilot, lambda: app.snapshot.nomad.ok and app.snapshot.nodes_state.refused,
                        "job data fresh, the nodes refused")
            register(sim, "appears-live")  # no ctrl+r: the stream (1.1) or a held query (0.11) brings it
            await until(pilot, lambda: "appears-live" in row_keys(jobs_table(app)), "the new job")
            line = status_line(app)
            # The job data is live (the stream on 1.1, held queries on 0.11) although the nodes are refused.
            assert "stale" not in line and "permission denied" not in line and line.endswith("live")
            await pilot.press("2")
            await until(pilot, lambda: isinstance(app.screen, NodesScreen), "Nodes")
            await until(pilot, lambda: "Nodes: permission denied — the token needs node:read" in screen_text(app),
                        "Nodes explains itself")
            assert "stale" not in status_line(app)


async def test_consul_down_does_not_block_d_with_a_write_token(make_settings):
    with cluster("1.1") as sim:
        app = DtleApp(make_settings(sim, env={"NOMAD_TOKEN": TOKENS["write"]}))
        async with app.run_test(size=(80, 24)) as pilot:
            await select(pilot, app, "job1")
            sim.consul_faults.down = True
            await until(pilot, lambda: app.snapshot.consul.error, "Consul shown down")
            await pilot.press("d")
            await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the delete dialog")
            await pilot.press("y")
            await until(pilot, lambda: sim.scenario.job("job1")["Stop"] is True, "job1 stopped in the sim")
            await until(pilot, lambda: "stopped" in notes(app), "the result")
            assert "Consul keys NOT saved" in notes(app)


async def test_a_malformed_token_and_consul_down_fit_the_status_line(make_settings):
    with cluster("1.1") as sim:
        settings = make_settings(sim, "--consul-addr", f"127.0.0.1:{dead_port()}",
                                 env={"NOMAD_TOKEN": "not-a-uuid-at-all"})
        app = DtleApp(settings)
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: "acl token lookup failed" in status_line(app)
                        and "Consul" in status_line(app), "both failures on the status line")
            line = status_line(app)
            assert "stale since" not in line  # no data ever came

            def shown() -> str:  # the status line's two rows, above the footer, as painted
                return "\n".join(visible_lines(app)[-3:-1])

            await until(pilot, lambda: "acl token lookup" in shown() and "Consul unreachable" in shown(),
                        "both parts painted within the two rows")
