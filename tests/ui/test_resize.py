"""Issue 5, requirement 5: the terminal shrinks to 60x20 and grows back at every screen and in every modal:
no crash, every line as wide as the terminal, and the Jobs columns that matter (ID, Status, Stage) stay
visible at 60 columns."""

from __future__ import annotations

from rich.cells import cell_len
from textual.command import CommandPalette

from dtle_tui.app import DtleApp
from dtle_tui.screens.add_job import AddJobScreen
from dtle_tui.screens.allocation import AllocationScreen
from dtle_tui.screens.confirm import ConfirmScreen
from dtle_tui.screens.help import HelpScreen
from dtle_tui.screens.job_detail import JobDetailScreen
from dtle_tui.screens.jobs import JobsScreen
from dtle_tui.screens.logs import LogsScreen
from dtle_tui.screens.nodes import NodesScreen
from dtle_tui.screens.spec import SpecScreen
from tests.helpers.pilot import loaded
from tests.helpers.screen import jobs_table, row_keys, visible_lines
from tests.helpers.wait import until

SMALL, NORMAL = (60, 20), (80, 24)


async def shrink_and_grow(pilot, where: str) -> list:
    """Resize to 60x20, check the painted screen, resize back; returns the small screen's lines."""
    app = pilot.app
    screen = app.screen
    small = []
    for width, height in (SMALL, NORMAL):
        await pilot.resize_terminal(width, height)
        await until(pilot, lambda w=width, h=height: app.screen.size == (w, h)
                    and len(visible_lines(app)) == h, what=f"{where} at {width}x{height}")
        await pilot.pause()
        lines = visible_lines(app)
        assert all(cell_len(line) == width for line in lines), (where, width, lines)
        assert app.is_running and app.return_code is None, where
        assert app.screen is screen, f"{where}: the screen changed on resize"
        if (width, height) == SMALL:
            small = lines
    return small


async def test_every_screen_and_modal_survives_60x20(frozen_sim, make_settings):
    sim = frozen_sim
    app = DtleApp(make_settings(sim))
    async with app.run_test(size=NORMAL) as pilot:
        await loaded(pilot, sim)
        table = jobs_table(app)
        table.move_cursor(row=row_keys(table).index("job1"))
        await until(pilot, lambda: app.screen.selected_job == "job1")

        small = await shrink_and_grow(pilot, "Jobs")
        header = next(line for line in small if line.lstrip().startswith("ID "))  # below the counts line
        assert header.index("ID") < header.index("Verdict") < header.index("Reached") < 60
        row = next(line for line in small if line.startswith(" job1 "))
        assert "running" in row and "incr" in row

        await pilot.press("slash")
        await shrink_and_grow(pilot, "Jobs with the filter open")
        await pilot.press("escape")

        for key, modal in (("question_mark", HelpScreen), ("ctrl+p", CommandPalette), ("d", ConfirmScreen),
                           ("P", ConfirmScreen), ("a", AddJobScreen)):
            await pilot.press(key)
            await until(pilot, lambda m=modal: isinstance(app.screen, m), what=modal.__name__)
            await shrink_and_grow(pilot, f"{modal.__name__} from {key}")
            await pilot.press("escape")
            await until(pilot, lambda: isinstance(app.screen, JobsScreen), what=f"back from {key}")

        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, JobDetailScreen))
        await until(pilot, lambda: app.screen.query_one("#allocs").row_count >= 2, what="allocations")
        small = await shrink_and_grow(pilot, "Job detail")
        assert any("job1" in line for line in small)
        for key, screen in (("s", SpecScreen), ("l", LogsScreen), ("enter", AllocationScreen)):
            await pilot.press(key)
            await until(pilot, lambda s=screen: isinstance(app.screen, s), what=screen.__name__)
            await shrink_and_grow(pilot, screen.__name__)
            await pilot.press("escape")
            await until(pilot, lambda: isinstance(app.screen, JobDetailScreen), what=f"back from {key}")
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, JobsScreen))

        await pilot.press("2")
        await until(pilot, lambda: isinstance(app.screen, NodesScreen))
        await until(pilot, lambda: app.screen.query_one("#nodes-table").row_count == 3)
        await shrink_and_grow(pilot, "Nodes")
        await pilot.press("3")
        await until(pilot, lambda: app.current_mode == "orphans")
        await shrink_and_grow(pilot, "Orphans")
        await pilot.press("1")
        await until(pilot, lambda: isinstance(app.screen, JobsScreen))
        assert app.screen.selected_job == "job1"
