"""Issue 5, requirement 4: hostile strings from the wire are shown literally, cannot style or act on the
UI, and never break the layout.

Jobs are registered over the simulator's real POST /v1/jobs; a node name and a task event are changed in
the simulator's state, as a compromised or buggy agent would report them.
"""

from __future__ import annotations

from rich.cells import cell_len

from dtle_tui.app import DtleApp
from dtle_tui.screens.allocation import AllocationScreen
from dtle_tui.screens.confirm import ConfirmScreen
from dtle_tui.screens.job_detail import JobDetailScreen
from dtle_tui.screens.jobs import JobsScreen
from dtle_tui.screens.nodes import NodesScreen
from dtle_tui.screens.spec import SpecScreen
from dtle_tui.sim import shapes
from dtle_tui.sim.scenario import dtle_spec
from dtle_tui.sim.server import text
from dtle_tui.text.textsafe import safe_text
from tests.helpers import loopback
from tests.helpers.pilot import loaded
from tests.helpers.screen import jobs_table, row_keys, screen_text, segments, status_line, visible_lines
from tests.helpers.wait import until

CLICK = "[@click=app.quit]click-me"
HOSTILE_IDS = [
    "[b]bold[/b]-job",
    "close[/]tag",
    CLICK,
    "ansi\x1b[31mred\x1b[0m\x1b]0;title\x07-job",
    "ctl\x07\x08\x7f\u202eevil",
    "tab\tand\nnewline",
    "数据迁移-作业-🚀🔥",
    "long-" + "x" * 250,
]
NODE_NAME = "[@click=app.quit]node[/]\x1b[2J\x1b[H-数据"
EVENT = "[red]boom[/] [@click=app.quit]x\x1b[5mblink\x1b[0m\r\nsecond line 🚀"


def register(sim, job_id: str) -> None:
    spec = dtle_spec(job_id, "mysql-src.prod", "mysql-dst.prod", "db", "pw-hostile")
    loopback.post(sim.nomad_addr + "/v1/jobs", json={"Job": spec}, timeout=5).raise_for_status()


def assert_screen_is_inert(app, width: int, height: int) -> None:
    """No escape byte reaches the terminal, nothing is clickable into an action from the wire, and every
    line is exactly as wide as the terminal."""
    for seg in segments(app):
        assert "\x1b" not in seg.text and "\x07" not in seg.text
        meta = seg.style.meta if seg.style else {}
        assert "app.quit" not in str(meta.get("@click", ""))
    lines = visible_lines(app)
    assert len(lines) == height
    assert all(cell_len(line) == width for line in lines), [cell_len(line) for line in lines]


async def test_hostile_job_ids_node_names_and_events(frozen_sim, make_settings):
    sim = frozen_sim
    app = DtleApp(make_settings(sim))
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot, sim)
        header = visible_lines(app)[1]
        for job_id in HOSTILE_IDS:
            register(sim, job_id)
        with sim.state.lock:
            node = sim.state.nodes[0]
            node.name = NODE_NAME
            node.modify_index = sim.state.bump("nodes")
            alloc = next(a for a in sim.state.allocs.values() if a.job_id == "job1" and a.task_group == "dest")
            sim.state.event(alloc, "dest", shapes.task_event("Driver", sim.state.now() + 1, DriverMessage=EVENT))
            sim.state.touch(alloc)

        await loaded(pilot, sim)
        table = jobs_table(app)
        assert set(HOSTILE_IDS) <= set(row_keys(table))
        for job_id in HOSTILE_IDS:  # shown literally: markup as typed, escapes removed, controls visible
            shown = table.get_cell(job_id, "id")
            assert shown.plain == safe_text(job_id) and not shown.spans
        text = screen_text(app)
        assert "[b]bold[/b]-job" in text and "close[/]tag" in text and CLICK in text
        assert "ansired-job" in text and "\\x07\\x08\\x7f\\u202eevil" in text and "tab and⏎newline" in text
        assert visible_lines(app)[1] == header  # the columns did not move
        assert_screen_is_inert(app, 80, 24)

        # Clicking the row that holds [@click=app.quit] opens the job; it does not quit.
        table.move_cursor(row=row_keys(table).index(CLICK))
        await until(pilot, lambda: app.screen.selected_job == CLICK)
        await pilot.click("#jobs-table", offset=(3, table.cursor_row + 1 - table.scroll_y))
        await until(pilot, lambda: isinstance(app.screen, JobDetailScreen), what="detail of the hostile job")
        assert app.is_running
        await until(pilot, lambda: CLICK in screen_text(app), what="hostile ID in the detail")
        assert_screen_is_inert(app, 80, 24)
        # The title shows the ID at once; the spec comes with the job's own read (before it, `s` says so).
        await until(pilot, lambda: app.snapshot.detail and app.snapshot.detail.job_id == CLICK
                    and app.snapshot.detail.job is not None, what="the hostile job's spec read")
        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, SpecScreen))
        assert CLICK in screen_text(app)
        assert_screen_is_inert(app, 80, 24)
        await pilot.press("escape")
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="delete dialog")
        assert f"Job: {CLICK}" in screen_text(app)
        assert_screen_is_inert(app, 80, 24)
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, JobDetailScreen))
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, JobsScreen))

        # The event message of job1's destination, in Job detail and in Allocation.
        table = jobs_table(app)
        table.move_cursor(row=row_keys(table).index("job1"))
        await until(pilot, lambda: app.screen.selected_job == "job1")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, JobDetailScreen))
        allocs = app.screen.query_one("#allocs")
        await until(pilot, lambda: allocs.row_count >= 2)
        allocs.move_cursor(row=row_keys(allocs).index(alloc.id))
        shown_event = safe_text(EVENT)
        assert "[red]boom[/] [@click=app.quit]xblink⏎second line 🚀" == shown_event
        await until(pilot, lambda: shown_event in screen_text(app), what="hostile event in the detail")
        assert_screen_is_inert(app, 80, 24)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, AllocationScreen))
        await until(pilot, lambda: "[red]boom[/]" in screen_text(app), what="hostile event in Allocation")
        assert_screen_is_inert(app, 80, 24)

        await pilot.press("2")
        await until(pilot, lambda: isinstance(app.screen, NodesScreen))
        await until(pilot, lambda: safe_text(NODE_NAME) in screen_text(app), what="hostile node name")
        assert_screen_is_inert(app, 80, 24)
        assert app.is_running


async def test_hostile_error_text_from_the_server(frozen_sim, make_settings):
    """A proxy's error body with markup and escape codes reaches the status line as plain, inert text."""
    sim = frozen_sim
    app = DtleApp(make_settings(sim, "--timeout", "1"))
    async with app.run_test(size=(200, 24)) as pilot:
        await loaded(pilot, sim)
        real = sim._nomad.app

        def evil(request):
            if request.path == "/v1/jobs":
                return text(500, "[@click=app.quit]quit[/] \x1b[2J\x1b]52;c;aGk=\x07 [b]loud\nline two")
            return real(request)

        sim._nomad.app = evil
        await pilot.press("ctrl+r")
        await until(pilot, lambda: "Nomad answered 500" in status_line(app), what="the error")
        assert "Nomad answered 500: [@click=app.quit]quit[/] [b]loud line two" in status_line(app)
        assert_screen_is_inert(app, 200, 24)
        assert app.is_running
