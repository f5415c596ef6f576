"""KeyedTable: in-place updates keyed by ID, the order asked for, and the cursor kept on its key."""

from __future__ import annotations

from rich.text import Text
from textual.app import App

from dtle_tui.widgets.keyed_table import KeyedTable


class TableApp(App):
    def compose(self):
        yield KeyedTable(id="t")


def rows(keys, tag=""):
    return [(k, [Text(k), Text(f"{tag}{k}")]) for k in keys]


def shown(table) -> list:
    return [str(table.coordinate_to_cell_key((i, 0)).row_key.value) for i in range(table.row_count)]


async def test_patch_reorder_and_cursor_follow_the_key():
    app = TableApp()
    async with app.run_test() as pilot:
        table = app.query_one(KeyedTable)
        table.set_columns([("id", "ID", 10), ("v", "Value", 10)])
        assert table.sync(rows(["a", "b", "c", "d"]))
        table.move_cursor(row=2)  # "c"
        await pilot.pause()
        assert not table.sync(rows(["a", "b", "c", "d"]))  # unchanged: nothing to do
        assert table.sync(rows(["d", "c", "x", "a"], tag="new-"))  # b gone, x added, order changed
        assert shown(table) == ["d", "c", "x", "a"]
        assert str(table.get_cell("a", "v")) == "new-a"
        assert table.selected_key == "c"


async def test_large_change_rebuilds_and_keeps_the_cursor():
    app = TableApp()
    async with app.run_test() as pilot:
        table = app.query_one(KeyedTable)
        table.set_columns([("id", "ID", 10), ("v", "Value", 10)])
        everything = [f"job{i:04d}" for i in range(1000)]
        table.sync(rows(everything))
        table.move_cursor(row=everything.index("job0100"))
        await pilot.pause()
        filtered = [k for k in everything if k.startswith("job01")]  # what a filter keystroke does
        table.sync(rows(filtered))
        assert shown(table) == filtered and table.selected_key == "job0100"
        table.sync(rows(everything))
        assert shown(table) == everything and table.selected_key == "job0100"


class EventsApp(App):
    def compose(self):
        yield KeyedTable(id="t", follow_top=True)


async def test_a_newest_first_table_keeps_a_top_cursor_on_the_newest_row():
    """Events, newest first: the highlight on the top row stays on top as newer events arrive above it
    (the full allocation's events after its slim stage events); moved down, it stays on its event."""
    app = EventsApp()
    async with app.run_test() as pilot:
        table = app.query_one(KeyedTable)
        table.set_columns([("id", "ID", 10), ("v", "Value", 10)])
        table.sync(rows(["stage-incr", "stage-full"]))
        await pilot.pause()
        assert table.selected_key == "stage-incr"
        table.sync(rows(["killed", "terminated", "stage-incr", "stage-full"]))
        assert table.cursor_row == 0 and table.selected_key == "killed"
        table.move_cursor(row=2)  # the operator looks at an older event
        await pilot.pause()
        table.sync(rows(["restarted", "killed", "terminated", "stage-incr", "stage-full"]))
        assert table.selected_key == "stage-incr" and table.cursor_row == 3
