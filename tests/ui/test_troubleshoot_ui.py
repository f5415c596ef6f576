"""The troubleshooting screens in the real DtleApp against the simulator: Not placed, task resources, the repair
keys r / K / e / D after their confirmations (exactly the recorded requests), nothing in read-only mode, and
`l` opening stderr for a task that failed."""

from __future__ import annotations

import re

from textual.widgets import Input

from dtle_tui.app import DtleApp
from dtle_tui.ops.audit import read_entries
from dtle_tui.ops.repair import HOUR_NS
from dtle_tui.screens.allocation import AllocationScreen
from dtle_tui.screens.confirm import ConfirmScreen
from dtle_tui.screens.drain import DrainScreen
from dtle_tui.screens.job_detail import JobDetailScreen
from dtle_tui.screens.logs import LogsScreen
from dtle_tui.screens.nodes import NodesScreen
from dtle_tui.sim.sidecar import SIDECAR_JOB
from dtle_tui.textual_private import notifications as held_notifications
from tests.helpers.screen import focused_id, screen_text
from tests.helpers.sim import running
from tests.helpers.sim import troubleshoot_writes as writes
from tests.helpers.wait import until


def notes(app) -> str:
    return "\n".join(str(n.message) for n in held_notifications(app))


async def loaded(pilot, app) -> None:
    await until(pilot, lambda: app.snapshot and app.snapshot.rows and app.snapshot.nodes, "first data")


async def open_alloc(pilot, app, alloc_id: str) -> AllocationScreen:
    await loaded(pilot, app)
    app.open_allocation(alloc_id)
    await until(pilot, lambda: isinstance(app.screen, AllocationScreen), "the Allocation screen")
    screen = app.screen
    await until(pilot, lambda: screen.current_allocation() is not None, "the allocation loaded")
    return screen


async def open_nodes(pilot, app, name: str) -> NodesScreen:
    await loaded(pilot, app)
    await pilot.press("2")
    await until(pilot, lambda: isinstance(app.screen, NodesScreen), "the Nodes screen")
    screen = app.screen
    table = screen.query_one("#nodes-table")
    await until(pilot, lambda: table.row_count == len(app.snapshot.nodes), "the nodes listed")
    node = next(n for n in app.snapshot.nodes if n.name == name)
    table.move_cursor(row=table.row_keys.index(node.id))
    await until(pilot, lambda: screen.current_node() is not None and screen.current_node().id == node.id,
                f"{name} selected")
    return screen


async def test_not_placed_says_why_and_names_the_draining_node(trouble_sim, make_settings):
    app = DtleApp(make_settings(trouble_sim))
    async with app.run_test(size=(200, 50)) as pilot:
        await loaded(pilot, app)
        app.open_job("archive-sync")
        await until(pilot, lambda: isinstance(app.screen, JobDetailScreen), "Job detail")
        await until(pilot, lambda: "Not placed: group dest" in screen_text(app), "the Not placed section")
        text = screen_text(app)
        assert "1 queued" in text
        assert "missing drivers: no node offers a healthy 'dtle' driver (task dest)" in text
        assert "node dtle-node-4 has a healthy dtle driver but is draining" in text
        assert "a blocked evaluation" in text
        await until(pilot, lambda: "src   mem" in screen_text(app), "the running src's resources")
        await pilot.press("x")
        await until(pilot, lambda: '"ConstraintFiltered": {"missing drivers": 1}' in screen_text(app), "raw")


async def test_a_task_near_its_memory_limit_shows_on_its_allocation(trouble_sim, make_settings):
    """A dtle task reports no memory (real-dtle.md §8): the story's raw_exec task (sim/sidecar.py) does."""
    app = DtleApp(make_settings(trouble_sim))
    async with app.run_test(size=(80, 24)) as pilot:
        await open_alloc(pilot, app, running(trouble_sim, SIDECAR_JOB, "exporter").id)
        await until(pilot, lambda: "near its limit" in screen_text(app), "the warning")
        assert re.search(r"exporter mem \d+ MiB / 128 MiB (8[5-9]|9\d)%", screen_text(app)), screen_text(app)


async def test_r_then_y_restarts_the_task_and_K_follows_the_replacement(trouble_sim, make_settings):
    sim = trouble_sim
    dest = running(sim, "job1", "dest")
    app = DtleApp(make_settings(sim))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_alloc(pilot, app, dest.id)
        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the restart dialog")
        await until(pilot, lambda: focused_id(app) == "confirm-cancel", "Cancel focused")
        assert f'POST /v1/client/allocation/{dest.id}/restart {{"TaskName": "dest"}}' in screen_text(app)
        await pilot.press("y")
        await until(pilot, lambda: "restarted in place" in notes(app), "the restart report")
        assert writes(sim) == [("POST", f"/v1/client/allocation/{dest.id}/restart", {"TaskName": "dest"})]
        await pilot.press("K")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the stop dialog")
        await until(pilot, lambda: focused_id(app) == "confirm-cancel", "Cancel focused")
        await pilot.press("escape")
        await until(pilot, lambda: "Cancelled" in notes(app), "the cancel note")
        assert len(writes(sim)) == 1
        await pilot.press("K")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the stop dialog")
        await pilot.press("y")
        await until(pilot, lambda: screen.alloc_id != dest.id, "the screen following the replacement")
        assert writes(sim)[1] == ("POST", f"/v1/allocation/{dest.id}/stop", None)
        replacement = sim.state.allocs[screen.alloc_id]
        assert replacement.previous_allocation == dest.id
    actions = [e["action"] for e in read_entries(app.settings.state_dir)]
    assert actions == ["restart", "stop-alloc"]


async def test_e_and_D_on_nodes(trouble_sim, make_settings):
    sim = trouble_sim
    app = DtleApp(make_settings(sim))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_nodes(pilot, app, "dtle-node-2")
        node = screen.current_node()
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the eligibility dialog")
        await until(pilot, lambda: focused_id(app) == "confirm-cancel", "Cancel focused")
        await pilot.press("y")
        await until(pilot, lambda: "ineligible for scheduling" in notes(app), "the result")
        await pilot.press("D")
        await until(pilot, lambda: isinstance(app.screen, DrainScreen), "the drain dialog")
        dialog = app.screen
        await until(pilot, lambda: focused_id(app) == "drain-name", "the node's name focused")
        assert isinstance(app.focused, Input)
        assert dialog.query_one("#drain-deadline", Input).value == "1h"
        await pilot.press(*"dtle-node", "enter")  # not the whole name: nothing is sent
        await pilot.pause()
        assert isinstance(app.screen, DrainScreen) and len(writes(sim)) == 1
        await pilot.press("-", "2", "enter")
        await until(pilot, lambda: "is draining" in notes(app), "the drain report")
        await until(pilot, lambda: "dtle-node-2: draining" in screen_text(app), "drain progress")
        assert "stays ineligible until e makes it eligible" in screen_text(app)
    assert writes(sim) == [
        ("POST", f"/v1/node/{node.id}/eligibility", {"Eligibility": "ineligible"}),
        ("POST", f"/v1/node/{node.id}/drain", {"DrainSpec": {"Deadline": HOUR_NS, "IgnoreSystemJobs": False}}),
    ]


async def test_D_stops_a_running_drain_and_e_then_places_the_queued_dest(trouble_sim, make_settings):
    sim = trouble_sim
    app = DtleApp(make_settings(sim))
    async with app.run_test(size=(200, 50)) as pilot:
        screen = await open_nodes(pilot, app, "dtle-node-4")
        node = screen.current_node()
        await pilot.press("D")
        await until(pilot, lambda: isinstance(app.screen, DrainScreen), "the drain dialog")
        assert not app.screen.query("#drain-deadline")  # stopping a drain has no deadline
        await until(pilot, lambda: focused_id(app) == "drain-name", "the node's name focused")
        await pilot.press(*"dtle-node-4", "enter")
        await until(pilot, lambda: "drain canceled" in screen_text(app), "the drain stopped, still ineligible")
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the eligibility dialog")
        await pilot.press("y")
        await until(pilot, lambda: app.snapshot.row("archive-sync").dest.running == 1, "the dest placed")
    assert writes(sim) == [("POST", f"/v1/node/{node.id}/drain", {"DrainSpec": None}),
                           ("POST", f"/v1/node/{node.id}/eligibility", {"Eligibility": "eligible"})]


async def test_read_only_sends_nothing_for_r_K_e_D(trouble_sim, make_settings):
    sim = trouble_sim
    app = DtleApp(make_settings(sim, "--read-only"))
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await open_alloc(pilot, app, running(sim, "job1", "dest").id)
        # hidden from the footer (still bound: a press is answered with the refusal, audited)
        shown = {active.binding.id for active in screen.active_bindings.values()}
        assert not shown & {"dtle.alloc.restart", "dtle.alloc.stop"} and "dtle.allocation.back" in shown
        for n, key in enumerate(("r", "K"), start=1):
            await pilot.press(key)
            await until(pilot, lambda n=n: notes(app).count("read-only") >= n, f"{key} refused")
        assert not isinstance(app.screen, ConfirmScreen)
        await pilot.press("escape")
        await open_nodes(pilot, app, "dtle-node-2")
        for n, key in enumerate(("e", "D"), start=3):
            await pilot.press(key)
            await until(pilot, lambda n=n: notes(app).count("read-only") >= n, f"{key} refused")
        assert not isinstance(app.screen, (ConfirmScreen, DrainScreen))
    assert writes(sim) == []
    entries = read_entries(app.settings.state_dir)
    assert [e["action"] for e in entries] == ["restart", "stop-alloc", "node-eligibility", "node-drain"]
    assert all(e["result"].startswith("refused") for e in entries)


async def test_l_opens_stderr_of_the_task_that_failed(sim, make_settings):
    app = DtleApp(make_settings(sim))
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot, app)
        failed = next(a for a in sim.scenario.allocations("crm-sync") if a.client_status == "failed")
        app.open_allocation(failed.id)
        await until(pilot, lambda: isinstance(app.screen, AllocationScreen), "the Allocation screen")
        await until(pilot, lambda: app.screen.current_allocation() is not None, "the allocation loaded")
        await pilot.press("l")
        await until(pilot, lambda: isinstance(app.screen, LogsScreen), "the logs")
        assert app.screen.log_type == "stderr" and app.screen.task_name == "dest"
        # Back to the Jobs list before the next one (two Allocation screens stacked, the app's deferred
        # re-sync of what to read, after a `back`, picked the lower one when it ran late on a busy machine).
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, AllocationScreen), "back on the failed allocation")
        await pilot.press("escape")
        await until(pilot, lambda: len(app.screen_stack) == 1, "back on the Jobs list")
        healthy = running(sim, "job1", "dest")
        app.open_allocation(healthy.id)
        await until(pilot, lambda: isinstance(app.screen, AllocationScreen) and app.screen.alloc_id == healthy.id,
                    "the healthy allocation")
        await until(pilot, lambda: app.screen.current_allocation() is not None, "loaded")
        await pilot.press("l")
        await until(pilot, lambda: isinstance(app.screen, LogsScreen), "the logs")
        assert app.screen.log_type == "stdout"


async def test_K_on_job_detail_selects_the_replacement(trouble_sim, make_settings):
    sim = trouble_sim
    dest = running(sim, "job10", "dest")
    app = DtleApp(make_settings(sim))
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, app)
        app.open_job("job10")
        await until(pilot, lambda: isinstance(app.screen, JobDetailScreen), "Job detail")
        screen = app.screen
        await until(pilot, lambda: dest.id in screen.allocs_table.row_keys, "the dest listed")
        table = screen.allocs_table
        table.move_cursor(row=table.row_keys.index(dest.id))
        await until(pilot, lambda: screen.current_allocation().id == dest.id, "the dest selected")
        await pilot.press("K")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the stop dialog")
        await pilot.press("y")
        await until(pilot, lambda: screen.current_allocation() is not None
                    and screen.current_allocation().id not in (dest.id,)
                    and screen.current_allocation().task_group == "dest", "the replacement selected")
        replacement = sim.state.allocs[screen.current_allocation().id]
        assert replacement.previous_allocation == dest.id
    assert writes(sim) == [("POST", f"/v1/allocation/{dest.id}/stop", None)]


async def test_E_reports_why_the_dest_is_not_placed(trouble_sim, make_settings, tmp_path):
    """The incident report (issue 17) carries the Not placed section of Job detail (issue 12)."""
    from dtle_tui.screens.job_detail import JobDetailScreen

    app = DtleApp(make_settings(trouble_sim))
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot, app)
        app.open_job("archive-sync")
        await until(pilot, lambda: isinstance(app.screen, JobDetailScreen), "Job detail")
        await until(pilot, lambda: app.screen.query_one("#not-placed").report, "the Not placed section")
        await pilot.press("E")
        found: list = []
        await until(pilot, lambda: found.extend((tmp_path / "state").rglob("archive-sync-*.md")) or found,
                    f"the report written ({notes(app)})")
    text = found[0].read_text()
    section = text.split("## Placement failures", 1)[1].split("\n## ", 1)[0]
    assert "group dest: 1 queued (evaluation" in section and "blocked evaluation" in section
    assert "missing drivers: no node offers a healthy 'dtle' driver (task dest)" in section
