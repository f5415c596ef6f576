"""Screen states on the frozen scenario, shared by the snapshot tests and `make screenshots`.

Everything that could differ between runs is pinned: the simulator is frozen (fixed timestamps, nothing
moves) on fixed loopback ports (the status line shows the address, so the SVGs hold it), the screens'
clock is pinned to the simulator's, and the time zone is UTC. What nobody chose is left out of the picture
too (`steady`): a text cursor is drawn steadily instead of in whatever phase of its blink the shot falls
on, and each scene waits for the focus to be where its screen puts it (the focus is set a moment after a
dialog mounts; on a busy machine a fixed pause could end before it), and each ends once the data is all in
(`data_in`: every feed answered, and no snapshot after it) rather than after a fixed pause, which a busy
machine can outlast. Fixed ports and the fixed home would collide
between two runs on one machine (two checkouts, a helper's run beside CI): a run holds an exclusive lock
on them while its simulator runs, and another run waits for it instead of failing.

There are several such slots (ports, home, lock), so that the test modules on the frozen scenario run on
several xdist workers at once: a module names its slot (`SCENE_SLOT`, 0 when it does not), and all the
modules of one slot run on one worker (tests/conftest.py). A picture holds its slot's address and home,
so the SVG tests stay in slot 0, as do `make screenshots`.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Awaitable, Callable, Dict

from textual.widgets import Input

from dtle_tui.app import DtleApp
from dtle_tui.config.settings import load_settings
from dtle_tui.text import clock
from tests.helpers.pilot import data_in as all_data_in
from tests.helpers.screen import focused_id, footer_labels, notifications
from tests.helpers.wait import until

NOMAD_PORT, CONSUL_PORT = 46460, 46461  # slot 0's; slot k adds 2k
SLOTS = 3
FROZEN_NOW = 1_795_766_400.0  # the frozen simulator's clock: 2026-11-27T08:00:00Z

Scene = Callable[..., Awaitable[None]]


def _named(slot: int) -> str:
    return "dtle-tui-scenes" if slot == 0 else f"dtle-tui-scenes-{slot}"


def start_frozen_sim(slot: int = 0):
    from dtle_tui.sim import SimCluster

    assert 0 <= slot < SLOTS, slot
    lock = open(Path(tempfile.gettempdir()) / f"{_named(slot)}.lock", "w")  # noqa: SIM115 (held until stop)
    fcntl.flock(lock, fcntl.LOCK_EX)
    sim = SimCluster(dialect="1.1", seed=1, frozen=True, troubles=True)  # the demo's story, as --demo
    sim.scene_slot = slot
    try:
        sim.start(nomad_port=NOMAD_PORT + 2 * slot, consul_port=CONSUL_PORT + 2 * slot)
    except BaseException:
        lock.close()
        raise
    stop = sim.stop

    def stop_and_unlock() -> None:
        try:
            stop()
        finally:
            lock.close()

    sim.stop = stop_and_unlock
    return sim


def pin_environment() -> None:
    os.environ["TZ"] = "UTC"
    time.tzset()
    clock.freeze(FROZEN_NOW)
    # One stats read per screen: the RSS sparkline then has the same length in every run.
    from dtle_tui.live import troubleshoot

    troubleshoot.STATS_INTERVAL_S = 3600.0


def make_app(sim, *extra: str, env: Dict[str, str] = {}) -> DtleApp:  # noqa: B006 - read only
    # A fixed home: the dialogs show the backup path, and it must read the same on every run.
    home = Path(tempfile.gettempdir()) / _named(getattr(sim, "scene_slot", 0))
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(mode=0o700)
    environ = {"HOME": str(home), "XDG_STATE_HOME": str(home / "state"), "XDG_CONFIG_HOME": str(home / "config"),
               **env}
    argv = ["--nomad-addr", sim.nomad_addr, "--consul-addr", sim.consul_addr, *extra]
    return DtleApp(load_settings(argv, environ))


def steady(scene: Scene) -> Scene:
    """`scene`, then the text cursors of the screen drawn steadily: Input blinks every half second, and the
    phase a shot falls on is the machine's timing, not the look."""

    async def run(pilot) -> None:
        await scene(pilot)
        for box in pilot.app.screen.query(Input):
            box.cursor_blink = False  # shown, and no longer toggled
        await pilot.pause()

    return run


async def data_in(pilot) -> None:
    """Until every feed started so far has answered (or failed) and no snapshot has followed for a moment:
    on the frozen scenario nothing changes after that, so what the screen shows is final. (A bare host app
    of a dialog reads nothing.)"""
    if isinstance(pilot.app, DtleApp):
        await all_data_in(pilot)


async def loaded(pilot) -> None:
    app = pilot.app
    await until(pilot, lambda: app.snapshot and app.snapshot.rows and app.snapshot.nomad.ok_at
                and app.snapshot.consul.ok_at and app.snapshot.nodes, what="first data")
    await until(pilot, lambda: app.screen.query_one("#jobs-table").row_count == len(app.snapshot.rows))
    # Why the queued jobs wait: their evaluations are read after the rows, and the reason joins the row.
    queued = [r.id for r in app.snapshot.rows if r.src.queued or r.dest.queued]
    await until(pilot, lambda: app.poller.placements.answered(queued), what="the queued jobs' evaluations read")
    await data_in(pilot)


async def select(pilot, job_id: str) -> None:
    screen = pilot.app.screen
    table = screen.query_one("#jobs-table")
    table.move_cursor(row=table.row_keys.index(job_id))
    await until(pilot, lambda: screen.selected_job == job_id, what=f"{job_id} selected")


async def jobs(pilot) -> None:
    await loaded(pilot)


async def detail_settled(pilot, job_id: str) -> None:
    """Job detail once the job's own reads answered: its spec, and its allocations whole (until then the
    events shown are the slim allocations' stage events only, fewer rows: a snapshot taken then differs)."""
    app = pilot.app

    def settled() -> bool:
        detail = app.snapshot.detail
        feed = app.poller.feeds.get("job_allocations")
        return bool(detail and detail.job_id == job_id and detail.job is not None and feed is not None
                    and feed.state.ok_at and app.screen.query_one("#events").row_count > 0)

    await until(pilot, settled, what=f"job detail of {job_id}")


async def job_detail(pilot) -> None:
    await loaded(pilot)
    await select(pilot, "payments-sync")
    await pilot.press("enter")
    app = pilot.app
    await detail_settled(pilot, "payments-sync")
    running = {a.id for a in app.snapshot.detail.allocations if a.client_status == "running"}
    await until(pilot, lambda: app.snapshot.troubles and set(app.snapshot.troubles.stats) == running,
                what="the running tasks' stats")
    await data_in(pilot)


async def allocation(pilot) -> None:
    await job_detail(pilot)
    app = pilot.app
    table = app.screen.query_one("#allocs")
    failed = next(a for a in app.snapshot.detail.allocations if a.client_status == "failed")
    keys = table.row_keys
    table.move_cursor(row=keys.index(failed.id))
    await pilot.press("enter")
    await until(pilot, lambda: app.snapshot.allocation is not None
                and app.snapshot.allocation.id == failed.id, what="allocation detail")
    await data_in(pilot)


async def spec(pilot) -> None:
    from dtle_tui.screens.spec import SpecScreen

    await job_detail(pilot)
    await pilot.press("s")
    await until(pilot, lambda: isinstance(pilot.app.screen, SpecScreen), what="the spec")
    await data_in(pilot)


async def nodes(pilot) -> None:
    await loaded(pilot)
    await pilot.press("2")
    await until(pilot, lambda: pilot.app.screen.query_one("#nodes-table").row_count == 5)
    await data_in(pilot)


async def on_node(pilot, name: str) -> None:
    """Nodes, the cursor on the node called `name`."""
    await nodes(pilot)
    screen = pilot.app.screen
    table = screen.query_one("#nodes-table")
    node = next(n for n in pilot.app.snapshot.nodes if n.name == name)
    table.move_cursor(row=table.row_keys.index(node.id))
    await until(pilot, lambda: screen.current_node() is not None and screen.current_node().name == name,
                what=f"{name} selected")


async def nodes_all_columns(pilot) -> None:
    """Nodes with every column (`w`): the table scrolls sideways at any width."""
    await nodes(pilot)
    await pilot.press("w")
    # `w` says how to scroll in a toast of 6 s: whether the shot falls within them is the machine's speed
    # (a loaded run's did, an idle run's did not). It is dismissed, as an operator would (ctrl+l).
    app = pilot.app
    await until(pilot, lambda: any("Every column" in n for n in notifications(app)), what="the toast of w")
    await pilot.press("ctrl+l")
    await until(pilot, lambda: not notifications(app) and "Dismiss" not in [d for _, d in footer_labels(app)],
                what="the toast dismissed")
    await until(pilot, lambda: "full" in [str(k.value) for k in pilot.app.screen.query_one("#nodes-table").columns],
                what="every column")
    await data_in(pilot)
    # The sideways scrollbar comes with the layout after the columns changed, not with a snapshot.
    table = pilot.app.screen.query_one("#nodes-table")
    await until(pilot, lambda: table.max_scroll_x == 0 or table.show_horizontal_scrollbar,
                what="the sideways scrollbar laid out")
    await pilot.pause()


async def node_detail(pilot) -> None:
    """Node detail of dtle-node-1 (Enter on Nodes): its allocations by job, drivers, events."""
    await on_node(pilot, "dtle-node-1")
    app = pilot.app
    await pilot.press("enter")

    def shown() -> bool:
        view = app.snapshot.node_view
        return bool(view and view.node is not None and view.allocations is not None and view.events
                    and app.screen.query_one("#node-allocs").row_count == len(view.allocations))

    await until(pilot, shown, what="the node's detail")
    await data_in(pilot)


async def nodes_refused(pilot) -> None:
    """Nodes for a namespace token without node:read (issue 18): the refusal said where the nodes would be."""
    app = pilot.app
    await until(pilot, lambda: app.snapshot and app.snapshot.rows and app.snapshot.nomad.ok_at
                and app.snapshot.consul.ok_at and app.snapshot.nodes_state.refused, what="first data")
    await pilot.press("2")
    await until(pilot, lambda: "permission denied" in str(app.screen.query_one("#node-detail").render()))
    await data_in(pilot)


async def orphans(pilot) -> None:
    await loaded(pilot)
    await pilot.press("3")
    await until(pilot, lambda: pilot.app.screen.query_one("#orphans-table").row_count > 0, what="the orphans")
    await data_in(pilot)


async def help_screen(pilot) -> None:
    from dtle_tui.screens.help import HelpScreen

    await loaded(pilot)
    await pilot.press("question_mark")
    await until(pilot, lambda: isinstance(pilot.app.screen, HelpScreen), what="the help")
    await data_in(pilot)


async def confirm_delete(pilot) -> None:
    await loaded(pilot)
    await select(pilot, "job1")
    await pilot.press("d")
    await until(pilot, lambda: focused_id(pilot.app) == "confirm-cancel", what="the delete dialog, Cancel focused")
    await data_in(pilot)


async def confirm_gtid_reset(pilot) -> None:
    await loaded(pilot)
    await select(pilot, "legacy-stopped")
    await pilot.press("G")
    await until(pilot, lambda: focused_id(pilot.app) == "confirm-input", what="the reset dialog, its input focused")
    await data_in(pilot)


async def jobs_attention_only(pilot) -> None:
    """`!`: only the jobs that need attention, and the line that says so."""
    await loaded(pilot)
    await pilot.press("exclamation_mark")
    await until(pilot, lambda: pilot.app.screen.only_attention, what="! on")
    await data_in(pilot)


async def filtered(pilot) -> None:
    await loaded(pilot)
    await pilot.press("slash", *"sync")
    app = pilot.app
    await until(pilot, lambda: focused_id(app) == "filter" and app.screen.query_one(Input).value == "sync",
                what="the filter typed")
    await until(pilot, lambda: app.screen.query_one("#jobs-table").row_keys
                == [row.id for row in app.screen.visible_rows(app.snapshot)], what="the rows filtered")
    await data_in(pilot)


async def dtle_progress(pilot) -> None:
    """Job detail of a job in its full copy, with dtle's figures (the app started with --dtle-api nodes)."""
    await loaded(pilot)
    await select(pilot, "billing-migrate")
    await pilot.press("enter")
    app = pilot.app
    await detail_settled(pilot, "billing-migrate")
    await until(pilot, lambda: "full copy" in app.screen.query_one("#dtle-progress").content.plain,
                what="dtle figures")
    await data_in(pilot)


async def not_placed(pilot) -> None:
    """Job detail of the job whose dest waits behind a draining node: why it is not placed."""
    await loaded(pilot)
    await select(pilot, "archive-sync")
    await pilot.press("enter")
    app = pilot.app
    await detail_settled(pilot, "archive-sync")
    await until(pilot, lambda: app.snapshot.troubles and app.snapshot.troubles.evaluations
                and app.snapshot.troubles.stats, what="the Not placed section")
    await until(pilot, lambda: app.screen.query_one("#not-placed").report, what="the report shown")
    await data_in(pilot)


async def failing_job(pilot) -> None:
    """Job detail of the job crash-looping at connect (real dtle's GTID_MODE error), its next try minutes
    away: the verdict first, no stage reached, the restarts collapsed; allocations and events in view."""
    await loaded(pilot)
    await select(pilot, "sales-mariadb")
    await pilot.press("enter")
    app = pilot.app
    await detail_settled(pilot, "sales-mariadb")
    await until(pilot, lambda: app.snapshot.detail.verdict is not None
                and "FAILING" in app.screen.query_one("#summary").content.plain, what="the verdict")
    await data_in(pilot)


async def not_placed_raw(pilot) -> None:
    """The Not placed section with its raw FailedTGAllocs (`x`): the allocations and events stay in view."""
    await not_placed(pilot)
    await pilot.press("x")
    await until(pilot, lambda: "FailedTGAllocs" in pilot.app.screen.query_one("#not-placed").content.plain,
                what="the raw placement")
    await data_in(pilot)


async def confirm_drain(pilot) -> None:
    """The drain dialog on a node that is not draining: deadline 1 h, the node's name to type."""
    await on_node(pilot, "dtle-node-2")
    await pilot.press("D")
    await until(pilot, lambda: focused_id(pilot.app) == "drain-name", what="the drain dialog, the name focused")
    await data_in(pilot)


SCENES: Dict[str, Scene] = {
    name: steady(scene)
    for name, scene in {
        "jobs": jobs,
        "jobs_filtered": filtered,
        "job_detail": job_detail,
        "allocation": allocation,
        "spec": spec,
        "nodes": nodes,
        "nodes_all_columns": nodes_all_columns,
        "node_detail": node_detail,
        "orphans": orphans,
        "help": help_screen,
        "confirm_delete": confirm_delete,
        "confirm_gtid_reset": confirm_gtid_reset,
        "not_placed": not_placed,
        "confirm_drain": confirm_drain,
    }.items()
}
