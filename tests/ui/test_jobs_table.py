"""The Jobs screen's virtualised table, through Pilot against the simulator over real HTTP: the keys and the
mouse do what they did with DataTable, the cursor stays on its job, ages tick to the minute without an idle
repaint, and a 5,000-job cluster loads, scrolls and filters."""

from __future__ import annotations

from textual import events

from dtle_tui.app import DtleApp
from dtle_tui.model.attention import attention_order
from dtle_tui.screens.job_detail import JobDetailScreen
from dtle_tui.screens.jobs import JobsScreen
from dtle_tui.sim.scenario import dtle_spec
from dtle_tui.text import clock
from dtle_tui.widgets.virtual_table import VirtualTable
from tests.helpers import loopback
from tests.helpers.pilot import data_in, settled
from tests.helpers.screen import table_lines
from tests.helpers.sim import sim_get
from tests.helpers.wait import PATIENCE_S, until


async def jobs_listed(pilot, count: int, timeout: float = PATIENCE_S):
    app = pilot.app
    await until(pilot, lambda: isinstance(app.screen, JobsScreen) and app.screen.table.row_count == count
                and app.snapshot.nomad.ok_at, f"{count} jobs listed", timeout)
    return app.screen.table


def scroll_wheel(app, widget, down: bool) -> None:
    """A mouse wheel notch over `widget`, as the terminal driver sends it."""
    x, y = widget.region.x + 5, widget.region.y + 3
    cls = events.MouseScrollDown if down else events.MouseScrollUp
    app.post_message(cls(None, x, y, 0, 1 if down else -1, 0, False, False, False, screen_x=x, screen_y=y))


def in_attention_order(app) -> list[str]:
    """The job IDs in the attention order, as the core orders the snapshot's rows (model/attention.py)."""
    return [r.id for r in attention_order(app.snapshot.rows, lambda r: r.verdict, lambda r: r.id)]


async def test_keys_and_mouse_move_open_and_sort(frozen_sim, make_settings):
    app = DtleApp(make_settings(frozen_sim))
    count = len(sim_get(frozen_sim.nomad_addr, "/v1/jobs"))
    async with app.run_test(size=(80, 24)) as pilot:
        table = await jobs_listed(pilot, count)
        screen = app.screen
        await settled(pilot)
        expected = in_attention_order(app)  # Jobs opens in the attention order
        assert sorted(expected) != expected  # a different order from the IDs': the test can fail
        assert table.row_keys == expected and screen.selected_job == expected[0]
        await pilot.press("down", "down")
        assert screen.selected_job == expected[2]
        await pilot.press("up")
        assert screen.selected_job == expected[1]
        await pilot.press("ctrl+end")
        assert screen.selected_job == expected[-1]
        await pilot.press("ctrl+home")
        assert screen.selected_job == expected[0]
        await pilot.press("pagedown")  # every job fits on one page here: the last one
        assert screen.selected_job == expected[-1]
        await pilot.press("pageup")
        assert screen.selected_job == expected[0]

        # A click selects a row; a click on the selected row opens it, as enter does.
        await pilot.click("#jobs-table", offset=(3, 1 + 3))
        await until(pilot, lambda: screen.selected_job == expected[3], "clicked row selected")
        assert app.screen is screen
        await pilot.click("#jobs-table", offset=(3, 1 + 3))
        await until(pilot, lambda: isinstance(app.screen, JobDetailScreen), "detail opened by a click")
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is screen, "back on Jobs")
        assert screen.selected_job == expected[3]
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, JobDetailScreen), "detail opened by enter")
        assert app.screen.job_id == expected[3]
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is screen, "back on Jobs")

        # A click on a header sorts by that column, a second click reverses; the cursor keeps its job.
        src_x = sum(w + 2 for _k, _l, w in table.columns[:3]) + 1  # ID, Verdict, Reached, then Src
        await pilot.click("#jobs-table", offset=(src_x, 0))
        await until(pilot, lambda: screen.sort_key == "src" and not screen.sort_reverse, "sorted by Src")
        srcs = {r.id: (r.src.failed + r.src.lost, r.src.queued, r.src.running, r.id) for r in app.snapshot.rows}
        keys = table.row_keys
        assert keys == sorted(keys, key=srcs.get)
        assert screen.selected_job == expected[3] and keys[table.cursor_row] == expected[3]
        header = table_lines(app)[0]
        assert "Src ▲" in header and "ID ▲" not in header
        await pilot.click("#jobs-table", offset=(src_x, 0))
        await until(pilot, lambda: screen.sort_reverse, "reversed")
        assert screen.selected_job == expected[3]
        await until(pilot, lambda: "Src ▼" in table_lines(app)[0], "the header says reversed")
        await pilot.press("o")  # next column: Dest, shown in its header
        await until(pilot, lambda: screen.sort_key == "dest", "sorted by Dest")
        assert "Dest ▲" in table_lines(app)[0]


async def test_filter_narrows_says_when_empty_and_clears(frozen_sim, make_settings):
    app = DtleApp(make_settings(frozen_sim))
    count = len(sim_get(frozen_sim.nomad_addr, "/v1/jobs"))
    async with app.run_test(size=(80, 24)) as pilot:
        table = await jobs_listed(pilot, count)
        await settled(pilot)
        expected = in_attention_order(app)
        await pilot.press("slash", *"sync")
        await until(pilot, lambda: table.row_keys == [k for k in expected if "sync" in k], "filtered")
        lines = table_lines(app)
        assert all("sync" in line for line in lines[1:1 + table.row_count])
        assert not lines[1 + table.row_count].strip()  # nothing below the last match
        await pilot.press(*"-none")
        await until(pilot, lambda: table.row_count == 0, "nothing matches")
        note = app.screen.query_one("#jobs-empty")
        assert note.display and "No job matches the filter 'sync-none'" in str(note.content)
        await pilot.press("escape")  # leaves the box
        await pilot.press("escape")  # clears the filter
        await until(pilot, lambda: table.row_keys == expected, "filter cleared")
        assert not app.screen.query_one("#jobs-empty").display


async def test_cursor_stays_on_its_job_while_the_cluster_moves(sim, make_settings):
    app = DtleApp(make_settings(sim))
    async with app.run_test(size=(80, 24)) as pilot:
        table = await jobs_listed(pilot, len(sim_get(sim.nomad_addr, "/v1/jobs")))
        table.move_cursor(row=table.row_keys.index("job10"))
        generation = app.snapshot.generation
        await until(pilot, lambda: app.snapshot.generation >= generation + 3, "three new snapshots")
        assert app.screen.selected_job == "job10"
        assert table.row_keys[table.cursor_row] == "job10"


async def test_ages_tick_to_the_minute_repaint_only_their_line_and_an_idle_table_paints_nothing(
        frozen_sim, make_settings, monkeypatch):
    ticks: list[int] = []
    tick = VirtualTable._repaint_stale_stamps  # counted on the class: set_interval holds the bound method
    monkeypatch.setattr(VirtualTable, "_repaint_stale_stamps", lambda self: ticks.append(1) or tick(self))
    app = DtleApp(make_settings(frozen_sim))
    spec = dtle_spec("fresh-job", "mysql-src.prod", "mysql-dst.prod", "db", "pw")
    loopback.post(frozen_sim.nomad_addr + "/v1/jobs", json={"Job": spec}, timeout=5).raise_for_status()
    submitted = sim_get(frozen_sim.nomad_addr, "/v1/job/fresh-job")["SubmitTime"] / 1e9
    clock.freeze(submitted + 5)
    try:
        async with app.run_test(size=(120, 24)) as pilot:  # the Age column shows from 120 columns
            table = await jobs_listed(pilot, len(sim_get(frozen_sim.nomad_addr, "/v1/jobs")))
            await settled(pilot)
            line = 1 + table.row_keys.index("fresh-job")
            assert " <1m " in table_lines(app)[line]
            painted: list[int] = []
            paint = table.render_line
            table.render_line = lambda y: painted.append(y) or paint(y)  # type: ignore[method-assign]

            # Seconds pass, nothing changed: the age still reads `<1m`, nothing is painted.
            clock.freeze(submitted + 40)
            start = len(ticks)
            await until(pilot, lambda: len(ticks) >= start + 2, "two clock ticks")
            await pilot.pause()
            before = table_lines(app)
            assert painted == [] and " <1m " in before[line]

            # A minute later: the lines whose age text changed are painted, and only those (`10h` stays).
            clock.freeze(submitted + 61)
            await until(pilot, lambda: " 1m " in table_lines(app)[line], "the age ticked")
            start = len(ticks)
            await until(pilot, lambda: len(ticks) >= start + 2, "two more clock ticks")
            after = table_lines(app)
            changed = {y for y, (a, b) in enumerate(zip(before, after)) if a != b}
            assert line in changed and len(changed) < len(after) - 1
            assert set(painted) == changed
    finally:
        clock.freeze(None)


async def test_five_thousand_jobs_load_scroll_and_filter(make_settings):
    from dtle_tui.sim import SimCluster

    with SimCluster(dialect="1.1", jobs=5000, frozen=True) as sim:
        app = DtleApp(make_settings(sim))
        async with app.run_test(size=(80, 24)) as pilot:
            table = await jobs_listed(pilot, 5000, timeout=3 * PATIENCE_S)
            # Every feed has answered and nothing more comes: the status line (one row or two) and so the
            # table's height are final before the page keys are measured against it. (A quiet moment alone,
            # 0.6 s without a snapshot, can fall before a slow feed's first answer on a busy machine: a page
            # was then one row off, 'mig-04980' == 'mig-04979'.)
            await data_in(pilot)
            screen = app.screen
            assert table.row_keys[:2] == ["mig-00000", "mig-00001"]
            assert table_lines(app)[1].startswith(" mig-00000 ")

            await pilot.press("ctrl+end")
            await until(pilot, lambda: table_lines(app)[-1].startswith(" mig-04999 "), "scrolled to the end")
            assert screen.selected_job == "mig-04999" and table.scroll_y == table.max_scroll_y
            rows_in_view = table.region.height - 1 - (1 if table.show_horizontal_scrollbar else 0)
            await pilot.press("pageup")
            assert table.region.height - 1 - (1 if table.show_horizontal_scrollbar else 0) == rows_in_view
            assert screen.selected_job == f"mig-{4999 - rows_in_view:05d}"  # one page up, as DataTable

            # The wheel scrolls the view, not the cursor.
            await pilot.press("ctrl+home")
            for _ in range(4):
                scroll_wheel(app, table, down=True)
            await until(pilot, lambda: table.scroll_y > 0, "scrolled by the wheel")
            assert screen.selected_job == "mig-00000"
            first = int(table.scroll_y)
            await until(pilot, lambda: table_lines(app)[1].startswith(f" mig-{first:05d} "), "rows follow the view")
            await pilot.press("down")  # a key brings the cursor's row back into view
            await until(pilot, lambda: table.scroll_y <= 1, "cursor in view")
            assert screen.selected_job == "mig-00001"

            await pilot.press("slash", *"4999")
            await until(pilot, lambda: table.row_keys == ["mig-04999"], "filtered to one job")
            await pilot.press("escape", "escape")
            await until(pilot, lambda: table.row_count == 5000, "filter cleared")
            assert screen.selected_job == "mig-04999"  # the only row left under the cursor while filtered


async def test_a_row_that_reads_the_same_is_not_repainted(frozen_sim, make_settings):
    """New row objects whose cells read as painted (the rate moved; 120 columns do not show it) repaint
    nothing; a row whose shown Gtid count moved repaints its line only."""
    import dataclasses

    app = DtleApp(make_settings(frozen_sim))
    async with app.run_test(size=(120, 24)) as pilot:  # Gtid txns shows from 120 columns
        table = await jobs_listed(pilot, len(sim_get(frozen_sim.nomad_addr, "/v1/jobs")))
        await settled(pilot)
        painted: list[int] = []
        paint = table.render_line
        table.render_line = lambda y: painted.append(y) or paint(y)  # type: ignore[method-assign]
        rows = list(table.rows)
        table.set_rows([dataclasses.replace(r, rate=(r.rate or 0.0) + 7.5) for r in rows])
        await pilot.pause(0.3)
        assert painted == []
        moved = next(i for i, r in enumerate(rows) if r.transactions is not None and i != table.cursor_row)
        table.set_rows([dataclasses.replace(r, transactions=r.transactions + 1) if i == moved else r
                        for i, r in enumerate(table.rows)])
        await until(pilot, lambda: painted, "the moved row repainted")
        await pilot.pause(0.3)
        assert set(painted) == {moved + 1}  # line 0 is the header
