"""The keys of every table (KeyedTable, VirtualTable): one ID per key, so `[keys]` remaps the cursor
keys of all tables at once (e.g. `"dtle.table.down" = "j,down"`), and help lists them."""

from __future__ import annotations

from typing import Mapping, Optional

from textual.binding import Binding

# (key, ID suffix, what it does, the table's action when it has its own name)
TABLE_KEYS = (
    ("up", "up", "cursor up", "cursor_up"),
    ("down", "down", "cursor down", "cursor_down"),
    ("right", "right", "scroll right", "scroll_right"),
    ("left", "left", "scroll left", "scroll_left"),
    ("pageup", "page_up", "page up", "page_up"),
    ("pagedown", "page_down", "page down", "page_down"),
    ("ctrl+home", "top", "first row", "cursor_first"),
    ("ctrl+end", "bottom", "last row", "cursor_last"),
    ("home", "home", "scroll to the first column", "scroll_leftmost"),
    ("end", "end", "scroll to the last column", "scroll_rightmost"),
)


def table_bindings(actions: Optional[Mapping[str, str]] = None) -> list[Binding]:
    """`enter` (shown as the screen's "Open") and the cursor keys; `actions` renames a key's action for a
    table whose own methods are named otherwise (DataTable's)."""
    out = [Binding("enter", "select_cursor", "Open", key_display="⏎", tooltip="open the row under the cursor",
                   id="dtle.table.open")]
    for key, suffix, text, action in TABLE_KEYS:
        out.append(Binding(key, (actions or {}).get(key, action), text[:1].upper() + text[1:], show=False, tooltip=text,
                           id=f"dtle.table.{suffix}"))
    return out
