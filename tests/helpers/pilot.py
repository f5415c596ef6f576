"""Driving the real app through Pilot: the waits every UI test starts with."""

from __future__ import annotations

from typing import Any

from dtle_tui.screens.jobs import JobsScreen
from tests.helpers.screen import jobs_table, row_keys
from tests.helpers.sim import sim_get
from tests.helpers.wait import PATIENCE_S, Deadline, until


async def loaded(pilot: Any, sim: Any) -> list:
    """Wait for the Jobs table to list every job of the simulator (in whatever order: attention by default),
    and Consul's positions. Returns the job IDs sorted."""
    expected = sorted(j["ID"] for j in sim_get(sim.nomad_addr, "/v1/jobs"))
    app = pilot.app
    await until(pilot, lambda: isinstance(app.screen, JobsScreen)
                and sorted(row_keys(jobs_table(app))) == expected, "every job listed")
    await until(pilot, lambda: app.snapshot.consul.ok_at and app.snapshot.nomad.ok, "both feeds ok")
    return expected


async def select_job(pilot: Any, job_id: str) -> None:
    """Put the Jobs table's cursor on `job_id`, and wait for the screen to have it selected."""
    table = jobs_table(pilot.app)
    table.move_cursor(row=row_keys(table).index(job_id))
    await until(pilot, lambda: pilot.app.screen.selected_job == job_id, f"{job_id} selected")


async def data_in(pilot: Any) -> None:
    """Until every feed the poller has started has answered (or failed), and no new snapshot has followed
    (`settled`): on a frozen simulator what the screens show is then final (the status line too)."""
    app = pilot.app
    await until(pilot, lambda: app.poller is not None
                and all(feed.answered or feed.state.error for feed in list(app.poller.feeds.values())),
                "every feed answered")
    await settled(pilot)


async def settled(pilot: Any, quiet_s: float = 0.6) -> None:
    """Until no new snapshot has arrived for `quiet_s` seconds (the poller has nothing more to say), within
    the usual deadline (a cluster that keeps moving fails here instead of looping forever)."""
    app = pilot.app
    deadline = Deadline(lambda: None, f"no new snapshot for {quiet_s:g} s", PATIENCE_S)
    while True:
        generation = app.snapshot.generation
        await pilot.pause(quiet_s)
        if app.snapshot.generation == generation:
            return
        deadline.poll()


async def writes_done(pilot: Any) -> None:
    """Until no write key's worker runs: its report comes before the worker ends, and a write key pressed
    before then is refused as another write still running."""
    app = pilot.app
    await until(pilot, lambda: not [w for w in app.workers if w.group == "writes" and not w.is_finished],
                "the write ended")
