"""Column widths for the console's tables (the Jobs screen's VirtualTable and the KeyedTables alike).

Its own module so the Jobs screen, painted first, does not import DataTable (through keyed_table) only
for this function: one import fewer before the first rows are on screen (issue 15).
"""

from __future__ import annotations

from typing import Optional, Sequence


def fill_column(columns: Sequence[tuple[str, str, int]], key: str, width: int, minimum: int,
                maximum: Optional[int] = None) -> list[tuple[str, str, int]]:
    """(key, label, width) columns with column `key` given what the others leave of `width`: every cell
    has one space of padding on each side, and 2 columns stay free for the scrollbar."""
    fixed = sum(w + 2 for k, _, w in columns if k != key)
    room = max(minimum, width - fixed - 4)
    if maximum is not None:
        room = min(maximum, room)
    return [(k, label, room if k == key else w) for k, label, w in columns]
