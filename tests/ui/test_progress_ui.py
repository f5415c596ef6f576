"""Gtid progress as an operator sees it (issue 7, "done when"): the stalled job is marked STALLED, a moving
job is not, and the rate shown matches the scenario's. (That the mark comes on a quiet cluster, with no
answer to wait for, is the poller's rebuild at the stall due time: tests/ui/test_alerts_report_ui.py; no
test times it.)"""

from __future__ import annotations

from dtle_tui.app import DtleApp
from dtle_tui.screens.jobs import JobsScreen
from tests.helpers.wait import until

THRESHOLD_S = 6.0  # above the simulator's longest Gtid upload interval (5 s)


def job_row(app, job_id: str) -> dict:
    table = app.screen.query_one("#jobs-table")
    labels = [label for _, label, _ in table.columns]
    row = table.get_row(job_id)
    return dict(zip(labels, (str(c) for c in row)))


async def test_stalled_marked_within_threshold_and_rate_matches(sim, make_settings):
    stalled = sim.scenario.stalled_job
    moving = "job1"
    app = DtleApp(make_settings(sim, "--stall-threshold", str(THRESHOLD_S)))
    async with app.run_test(size=(160, 40)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, JobsScreen) and job_row(app, stalled), "the jobs")
        await until(pilot, lambda: job_row(app, stalled)["Verdict"] == "stalled", "stalled")
        assert job_row(app, stalled)["Reached"] == "incr"
        assert job_row(app, moving)["Verdict"] == "running" and job_row(app, moving)["Reached"] == "incr"

        expected = sim.scenario.gtid_rate(moving)
        assert expected > 0

        def rate_close() -> bool:
            shown = job_row(app, moving)["Rate"]
            return shown.endswith("/s") and abs(float(shown[:-2].replace(",", "")) - expected) <= 0.25 * expected

        await until(pilot, rate_close, f"a rate near {expected}/s")
        assert job_row(app, moving)["Verdict"] == "running"  # moving jobs never turn stalled
