"""A DataTable that is updated in place from (key, cells) rows.

`DataTable.clear()` loses the cursor and the scroll position and repaints everything; a live console
must not. `sync()` removes vanished rows, adds new ones, rewrites only cells whose text changed, puts the
rows in the wanted order, and keeps the cursor on the same key. Unchanged data changes nothing, so an
idle screen does not repaint.
"""

from __future__ import annotations

from typing import Optional, Sequence

from rich.text import Text
from textual.widgets import DataTable

from dtle_tui.widgets.table_keys import table_bindings

Cell = Text
Row = tuple[str, Sequence[Cell]]


class KeyedTable(DataTable):
    """DataTable keyed by a stable ID (job ID, allocation ID, node ID)."""

    # DataTable's own `enter` binding is hidden and would hide the screen's "Open" from the footer; its
    # cursor keys again, with the IDs every table shares.
    BINDINGS = table_bindings({"right": "cursor_right", "left": "cursor_left", "ctrl+home": "scroll_top",
                               "ctrl+end": "scroll_bottom", "home": "scroll_home", "end": "scroll_end"})

    def __init__(self, *args, openable: bool = False, follow_top: bool = False, **kwargs) -> None:
        self.openable = openable
        # Newest-first tables (events): a cursor on the top row stays on the top row as newer rows come
        # in above it, instead of following its row down (the operator looks at the newest).
        self.follow_top = follow_top
        kwargs.setdefault("cursor_type", "row")
        kwargs.setdefault("zebra_stripes", False)
        super().__init__(*args, **kwargs)
        self._order: list[str] = []
        self._cells: dict[str, tuple[Cell, ...]] = {}
        self._column_keys: list[str] = []
        self._pending_cursor: Optional[str] = None  # the selection to restore after a column change

    def check_action(self, action: str, parameters: tuple) -> Optional[bool]:
        if action == "select_cursor" and not self.openable:
            return False  # nothing to open from this table: no "Open" in the footer
        return super().check_action(action, parameters)

    def set_columns(self, columns: Sequence[tuple[str, str, Optional[int]]]) -> None:
        """(key, label, width) columns; changing them rebuilds the table (rare: on resize class change)."""
        keys = [c[0] for c in columns]
        widths = [c[2] for c in columns]
        current = [(str(k.value), col.width if not col.auto_width else None) for k, col in self.columns.items()]
        if current == list(zip(keys, widths)):
            return
        selected = self.selected_key
        self.clear(columns=True)
        self._order, self._cells = [], {}
        self._column_keys = keys
        for key, label, width in columns:
            self.add_column(label, key=key, width=width)
        self._pending_cursor = selected

    @property
    def row_keys(self) -> list[str]:
        """The keys in display order (as VirtualTable.row_keys)."""
        return [str(row.key.value) for row in self.ordered_rows]

    @property
    def selected_key(self) -> Optional[str]:
        if not self._order or self.cursor_row < 0 or self.cursor_row >= len(self._order):
            return None
        try:
            return str(self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value)
        except Exception:  # the table is between states: no selection yet
            return None

    def sync(self, rows: Sequence[Row]) -> bool:
        """Make the table show exactly `rows`, in order. Returns True when anything changed."""
        at_top = self.follow_top and self.cursor_row <= 0 and self._pending_cursor is None
        selected = None if at_top else (self._pending_cursor or self.selected_key)
        self._pending_cursor = None
        wanted = [key for key, _ in rows]
        new_cells = {key: tuple(cells) for key, cells in rows}
        gone = [k for k in self._order if k not in new_cells]
        added = sum(1 for k in wanted if k not in self._cells)
        if len(gone) + added > max(64, len(wanted) // 4):
            # A filter or a context switch changes most rows: removing rows one by one costs O(rows)
            # each in DataTable, so rebuild in one pass and put the cursor back on its key.
            changed = self._rebuild(wanted, new_cells)
        else:
            changed = self._patch(wanted, new_cells, gone)
        self._order = wanted
        if selected is not None and selected in new_cells:
            index = position_of(wanted, selected)
            if index != self.cursor_row:
                self.move_cursor(row=index, animate=False, scroll=False)
        elif at_top and wanted and self.cursor_row != 0:
            self.move_cursor(row=0, animate=False, scroll=False)
        return changed

    def _rebuild(self, wanted: list[str], new_cells: dict) -> bool:
        self.clear(columns=False)
        for key in wanted:
            self.add_row(*new_cells[key], key=key)
        self._cells = dict(new_cells)
        return True

    def _patch(self, wanted: list[str], new_cells: dict, gone: list[str]) -> bool:
        changed = False
        appended = []
        for key in gone:
            self.remove_row(key)
            del self._cells[key]
            changed = True
        for key in wanted:
            cells = new_cells[key]
            old = self._cells.get(key)
            if old is None:
                self.add_row(*cells, key=key)
                appended.append(key)
                changed = True
            elif old != cells:
                for col, (before, after) in zip(self._column_keys, zip(old, cells)):
                    if before != after:
                        self.update_cell(key, col, after)
                changed = True
            self._cells[key] = cells
        # DataTable keeps the order of what stayed and appends new rows at the end.
        current = [k for k in self._order if k in new_cells] + appended
        if current != wanted and self._column_keys:
            position = {key: i for i, key in enumerate(wanted)}
            first = self._column_keys[0]
            by_cell = {id(self.get_cell(key, first)): position[key] for key in wanted}
            self.sort(first, key=lambda cell: by_cell[id(cell)])
            changed = True
        return changed


def position_of(keys: list[str], key: str) -> int:
    try:
        return keys.index(key)
    except ValueError:
        return 0
