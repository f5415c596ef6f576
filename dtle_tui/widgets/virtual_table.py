"""A table that formats and paints only the rows in view (Textual's line API).

DataTable keeps a renderable per cell and measures every row as it is added, so at 5,000 jobs each
filter keystroke rebuilt 5,000 rows (~200 ms) and each refresh formatted them all. This table keeps the
caller's list of row objects and the column layout, nothing per row: a row is formatted when a line of
it is painted, and its segments are kept while it is the same row (the same object, or an equal one)
showing the same time-dependent texts (its "stamp": the ages). A new list of rows repaints only the
lines in view whose row changed; a once-a-second tick repaints only the lines whose stamp changed, so an
idle screen writes nothing.

Keys, mouse and look are DataTable's with a row cursor, so the operator sees no difference: up/down,
pageup/pagedown, ctrl+home/ctrl+end move the cursor; home/end/left/right scroll sideways; enter, or a
click on the cursor's row, selects; a click on the header selects a column. Its styles (dtle_tui.tcss) are
DataTable's rules for the same component classes, with the same theme variables.
"""

from __future__ import annotations

from typing import Any, Callable, ClassVar, Hashable, Optional, Sequence

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import BindingType
from textual.geometry import Region, Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from dtle_tui.widgets.table_events import HeaderSelected, RowSelected
from dtle_tui.widgets.table_keys import table_bindings

Column = tuple[str, str, int]  # (key, label, width without the one-space padding on each side)
PADDING = 1
HEADER = -1  # the row index of the header line


class VirtualTable(ScrollView, can_focus=True):
    """Rows are the caller's objects; `key` names a row (the cursor follows it), `cells` formats it for
    the given column keys and stamp, `stamp` is what time changes in a row's texts (None: nothing)."""

    ALLOW_SELECT = False

    # `enter` is shown in the footer as the screen's "Open" (only when `openable`).
    BINDINGS: ClassVar[list[BindingType]] = table_bindings()

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "virtual-table--header",
        "virtual-table--header-hover",
        "virtual-table--cursor",
        "virtual-table--hover",
    }

    RowSelected = RowSelected
    HeaderSelected = HeaderSelected

    def __init__(
        self,
        key: Callable[[Any], str],
        cells: Callable[[Any, tuple[str, ...], Hashable], Sequence[Text]],
        stamp: Optional[Callable[[Any], Hashable]] = None,
        *,
        openable: bool = False,
        tick: float = 1.0,
        name: Optional[str] = None,
        id: Optional[str] = None,  # noqa: A002 (Textual's name)
        classes: Optional[str] = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.openable = openable
        self._key = key
        self._format = cells
        self._stamp = stamp or (lambda row: None)
        self._has_stamp = stamp is not None
        self._tick = tick
        self._columns: tuple[Column, ...] = ()
        self._column_keys: tuple[str, ...] = ()
        self._starts: list[int] = []  # x where each column starts, padding included
        self._table_width = 0
        self._rows: Sequence[Any] = ()
        self.cursor_row = 0
        self._hover: Optional[int] = None  # row under the mouse (HEADER for the header), when shown
        # key -> (row, stamp, segments without the line's style): the formatted rows seen lately.
        self._segments: dict[str, tuple[Any, Hashable, list[Segment]]] = {}
        self._header: Optional[list[Segment]] = None
        self._styles: dict[str, Style] = {}

    def on_mount(self) -> None:  # Textual also runs ScrollView's own on_mount
        if self._has_stamp and self._tick > 0:
            self.set_interval(self._tick, self._repaint_stale_stamps)

    # ---- data ---------------------------------------------------------------------------------
    @property
    def columns(self) -> tuple[Column, ...]:
        return self._columns

    @property
    def row_count(self) -> int:
        return len(self._rows)

    @property
    def rows(self) -> Sequence[Any]:
        return self._rows

    @property
    def row_keys(self) -> list[str]:
        return [self._key(row) for row in self._rows]

    @property
    def selected_key(self) -> Optional[str]:
        if 0 <= self.cursor_row < len(self._rows):
            return self._key(self._rows[self.cursor_row])
        return None

    def get_row(self, key: str) -> list[Text]:
        """The cells of the row named `key`, as they are painted (KeyError when absent)."""
        for row in self._rows:
            if self._key(row) == key:
                return list(self._format(row, self._column_keys, self._stamp(row)))
        raise KeyError(key)

    def get_row_at(self, index: int) -> list[Text]:
        row = self._rows[index]
        return list(self._format(row, self._column_keys, self._stamp(row)))

    def get_cell(self, key: str, column_key: str) -> Text:
        return self.get_row(key)[self._column_keys.index(column_key)]

    def set_columns(self, columns: Sequence[Column]) -> None:
        """(key, label, width) columns; the same layout again changes nothing."""
        columns = tuple(columns)
        if columns == self._columns:
            return
        self._columns = columns
        self._column_keys = tuple(key for key, _, _ in columns)
        self._starts, x = [], 0
        for _, _, width in columns:
            self._starts.append(x)
            x += width + 2 * PADDING
        self._table_width = x
        self._segments.clear()
        self._header = None
        self._update_virtual_size()
        self.refresh()

    def set_rows(self, rows: Sequence[Any]) -> None:
        """Show exactly `rows`, in this order; the cursor stays on its row's key when it is still there.
        Only the lines in view whose row changed are repainted."""
        selected = self.selected_key
        old_rows, old_cursor = self._rows, self.cursor_row
        self._rows = rows
        cursor = old_cursor
        if selected is not None:
            cursor = self._index_of(selected, fallback=old_cursor)
        self.cursor_row = max(0, min(cursor, len(rows) - 1))
        if len(old_rows) != len(rows):
            self._update_virtual_size()
        top, bottom = self._rows_in_view()
        for index in range(top, bottom):
            before = old_rows[index] if index < len(old_rows) else None
            after = rows[index] if index < len(rows) else None
            moved = (index == old_cursor) != (index == self.cursor_row)
            if not moved:
                if before is after or (before is not None and after is not None and before == after):
                    continue
                if before is not None and after is not None and self._reads_the_same(before, after):
                    continue
            self._refresh_row(index)
        self._forget_old_segments()

    def _reads_the_same(self, before: Any, after: Any) -> bool:
        """A new row for the same key whose cells read exactly as painted: a field this layout does not
        show moved (e.g. the rate at 80 columns, when Consul's held query answers unchanged, or the stage's
        age, which only the wide layout shows). Such a line is not repainted; the new row takes over the
        painted segments."""
        key = self._key(after)
        if key != self._key(before):
            return False
        return self._still_reads_as_painted(key, after)

    def _still_reads_as_painted(self, key: str, row: Any) -> bool:
        """`row`, formatted now, reads exactly as its painted line: keep the segments under the new row and
        stamp and say so; otherwise forget them (the line is about to be repainted)."""
        cached = self._segments.get(key)
        if cached is None:
            return False
        stamp = self._stamp(row)
        segments = self._cell_segments(self._format(row, self._column_keys, stamp))
        if segments != cached[2]:
            return False
        self._segments[key] = (row, stamp, cached[2])
        return True

    def _index_of(self, key: str, fallback: int) -> int:
        key_of = self._key
        for index, row in enumerate(self._rows):
            if key_of(row) == key:
                return index
        return fallback

    def _forget_old_segments(self) -> None:
        if len(self._segments) <= 4 * max(1, self.size.height) + 256:
            return
        top, bottom = self._rows_in_view()
        keep = {self._key(row) for row in self._rows[top:bottom]}
        self._segments = {k: v for k, v in self._segments.items() if k in keep}

    def _update_virtual_size(self) -> None:
        self.virtual_size = Size(self._table_width, len(self._rows) + 1)

    # ---- cursor -------------------------------------------------------------------------------
    def move_cursor(self, row: int, scroll: bool = True) -> None:
        row = max(0, min(row, len(self._rows) - 1))
        if row != self.cursor_row:
            self._refresh_row(self.cursor_row)
            self.cursor_row = row
            self._refresh_row(row)
        if scroll:
            self.scroll_to_row(row)

    def scroll_to_row(self, row: int, animate: bool = False) -> None:
        """Scroll the least that shows `row` below the header."""
        page = self._page()
        top = int(self.scroll_y)
        if row < top:
            self.scroll_to(y=row, animate=animate, force=True)
        elif row >= top + page:
            self.scroll_to(y=row - page + 1, animate=animate, force=True)

    def _page(self) -> int:
        """How many rows fit under the header."""
        return max(1, self.scrollable_content_region.height - 1)

    def _rows_in_view(self) -> tuple[int, int]:
        top = int(self.scroll_y)
        return top, min(len(self._rows), top + self._page())

    def _refresh_row(self, index: int) -> None:
        top, bottom = self._rows_in_view()
        if top <= index < bottom:
            self.refresh(Region(0, index - top + 1, self.size.width, 1))

    def _set_hover(self, row: Optional[int]) -> None:
        if row == self._hover:
            return
        for old in (self._hover, row):
            if old == HEADER:
                self.refresh(Region(0, 0, self.size.width, 1))
            elif old is not None:
                self._refresh_row(old)
        self._hover = row

    # ---- keys ---------------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple) -> Optional[bool]:
        if action == "select_cursor" and not self.openable:
            return False  # nothing to open from this table: no "Open" in the footer
        return super().check_action(action, parameters)

    def action_select_cursor(self) -> None:
        self._set_hover(None)
        key = self.selected_key
        if key is not None:
            self.post_message(self.RowSelected(self, key))

    def action_cursor_up(self) -> None:
        self._set_hover(None)
        self.move_cursor(self.cursor_row - 1)

    def action_cursor_down(self) -> None:
        self._set_hover(None)
        self.move_cursor(self.cursor_row + 1)

    def action_page_down(self) -> None:
        # As DataTable: the view and the cursor both move one page, so the cursor keeps its place on screen.
        self._set_hover(None)
        page = self._page()
        self.scroll_relative(y=page, animate=False, force=True)
        self.move_cursor(self.cursor_row + page, scroll=False)

    def action_page_up(self) -> None:
        self._set_hover(None)
        page = self._page()
        self.scroll_relative(y=-page, animate=False, force=True)
        self.move_cursor(self.cursor_row - page, scroll=False)

    def action_cursor_first(self) -> None:
        self._set_hover(None)
        self.move_cursor(0)

    def action_cursor_last(self) -> None:
        self._set_hover(None)
        self.move_cursor(len(self._rows) - 1)

    def action_scroll_leftmost(self) -> None:
        self._set_hover(None)
        self.scroll_x = 0

    def action_scroll_rightmost(self) -> None:
        self._set_hover(None)
        self.scroll_x = self.max_scroll_x

    # ---- mouse --------------------------------------------------------------------------------
    def _row_at(self, event: events.MouseEvent) -> Optional[int]:
        """HEADER, a row index, or None (below the last row, or on a scrollbar)."""
        offset = event.get_content_offset(self)
        if offset is None:
            return None
        if offset.y == 0:
            return HEADER
        row = offset.y - 1 + int(self.scroll_y)
        return row if row < len(self._rows) else None

    def _column_at(self, x: int) -> Optional[str]:
        x += int(self.scroll_x)
        for start, (key, _, width) in zip(self._starts, self._columns):
            if start <= x < start + width + 2 * PADDING:
                return key
        return None

    def on_mouse_move(self, event: events.MouseMove) -> None:
        self._set_hover(self._row_at(event))

    def on_leave(self, event: events.Leave) -> None:
        self._set_hover(None)

    def on_click(self, event: events.Click) -> None:
        row = self._row_at(event)
        self._set_hover(row)
        if row is None:
            return
        event.stop()
        if row == HEADER:
            offset = event.get_content_offset(self)
            column = self._column_at(offset.x) if offset is not None else None
            if column is not None:
                self.post_message(self.HeaderSelected(self, column))
        elif row == self.cursor_row:
            self.action_select_cursor()
            self._set_hover(row)
        else:
            self.move_cursor(row, scroll=False)
            self.scroll_to_row(row, animate=True)

    # ---- painting -----------------------------------------------------------------------------
    def render_lines(self, crop: Region) -> list[Strip]:
        # The component styles depend on focus and theme: read them once per paint.
        get = self.get_component_rich_style
        self._styles = {
            "base": self.rich_style,
            "header": self.get_component_styles("virtual-table--header").rich_style,
            "header-hover": get("virtual-table--header-hover"),
            "cursor": get("virtual-table--cursor"),
            "hover": get("virtual-table--hover"),
        }
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        base = self._styles["base"]
        if y == 0:
            return self._paint(self._header_segments(), self._styles["header"], HEADER, width, base)
        index = y - 1 + int(self.scroll_y)
        if index >= len(self._rows):
            return Strip.blank(width, base)
        return self._paint(self._row_segments(self._rows[index]), base, index, width, base)

    def _paint(self, segments: list[Segment], row_style: Style, index: int, width: int, base: Style) -> Strip:
        """A row's segments with the line's style under them: the cursor's or hover's colour wins over
        the cells' own colours (as in DataTable), the cells' backgrounds and attributes stay."""
        styles = self._styles
        component = Style()
        if self._hover == index:
            component += styles["hover"]
            if index == HEADER:
                component += styles["header-hover"]
        if index == self.cursor_row and index != HEADER:
            component += styles["cursor"]
        pre = row_style + component
        post = Style.from_color(color=component.color) if component.color is not None else None
        line = list(Segment.apply_style(segments, pre, post))
        rest = width - self._table_width
        if rest > 0:
            line.append(Segment(" " * rest, pre))
        strip = Strip(line, max(width, self._table_width))
        x = int(self.scroll_x)
        if x or rest < 0:  # scrolled sideways, or wider than the widget
            strip = strip.crop(x, x + width).adjust_cell_length(width, base)
        return strip.simplify()

    def _header_segments(self) -> list[Segment]:
        if self._header is None:
            self._header = self._cell_segments([Text(label) for _, label, _ in self._columns])
        return self._header

    def _row_segments(self, row: Any) -> list[Segment]:
        key = self._key(row)
        stamp = self._stamp(row)
        cached = self._segments.get(key)
        if cached is not None and cached[1] == stamp and (cached[0] is row or cached[0] == row):
            return cached[2]
        segments = self._cell_segments(self._format(row, self._column_keys, stamp))
        self._segments[key] = (row, stamp, segments)
        return segments

    def _cell_segments(self, cells: Sequence[Text]) -> list[Segment]:
        console = self.app.console
        segments: list[Segment] = []
        for cell, (_, _, width) in zip(cells, self._columns):
            text = cell
            if text.cell_len > width:  # one line per row: cut, never wrap
                text = cell.copy()
                text.truncate(width)
            # The room left is unstyled, as DataTable pads (a reverse cell is as wide as its text).
            room = width - text.cell_len
            left = room if cell.justify == "right" else room // 2 if cell.justify == "center" else 0
            segments.append(Segment(" " * (PADDING + left)))
            if text.spans:
                segments.extend(text.render(console))
            else:  # Text.render leaves out the text's own style when it has no spans
                style = console.get_style(text.style, default=Style.null()) if text.style else None
                segments.append(Segment(text.plain, style))
            segments.append(Segment(" " * (room - left + PADDING)))
        return segments

    def _repaint_stale_stamps(self) -> None:
        """The clock tick: repaint the lines in view whose time-dependent texts changed as painted, and only
        those (a stamp can move in a column this layout does not show: that line is not written)."""
        if not self.screen.is_current:
            return  # painted afresh when its screen comes back
        top, bottom = self._rows_in_view()
        for index in range(top, bottom):
            row = self._rows[index]
            key = self._key(row)
            cached = self._segments.get(key)
            if cached is not None and cached[1] != self._stamp(row) and not self._still_reads_as_painted(key, row):
                self._refresh_row(index)
