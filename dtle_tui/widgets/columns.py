"""A table's columns as records: label, width, cell, sort key, and from which terminal width each shows.

One list per screen, in the order the columns stand (k9s keeps one header list whose extra columns carry
`Attrs{Wide}`): a screen shows the columns its width allows (`for_width`), and each row's cells come from
the same records (`cells`), so a column is added in one place. The Jobs screen's VirtualTable and the
KeyedTables alike take `(key, label, width)` triples (`layout`).

Its own module, free of DataTable, so the Jobs screen, painted first, does not import DataTable (through
keyed_table) for it (issue 15).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Generic, Optional, Sequence, TypeVar

R = TypeVar("R")


@dataclass(frozen=True)
class Column(Generic[R]):
    key: str
    label: str
    width: int  # cells, without the one-space padding on each side
    cell: Callable[[R, Any], Any]  # (row, what the screen passes along: ages, figures) -> its cell (a Text)
    sort: Optional[Callable[[R], Any]] = None  # the column's sort key (None: not sortable)
    shown_from: int = 0  # only on terminals at least this wide (k9s' Wide)
    wide: Optional[tuple[str, int]] = None  # its label and width on a wide terminal, when they differ


def for_width(columns: Sequence[Column], width: int) -> list[Column]:
    """The columns a terminal `width` wide shows, in their order."""
    return [c for c in columns if width >= c.shown_from]


def layout(columns: Sequence[Column], wide: bool = False) -> list[tuple[str, str, int]]:
    """(key, label, width) of each column, its wide label and width on a wide terminal."""
    return [(c.key, *(c.wide if wide and c.wide else (c.label, c.width))) for c in columns]


def cells(columns: Sequence[Column], row: Any, extra: Any = None) -> list:
    return [c.cell(row, extra) for c in columns]


def fill_column(columns: Sequence[tuple[str, str, int]], key: str, width: int, minimum: int,
                maximum: Optional[int] = None) -> list[tuple[str, str, int]]:
    """(key, label, width) columns with column `key` given what the others leave of `width`: every cell
    has one space of padding on each side, and 2 columns stay free for the scrollbar."""
    fixed = sum(w + 2 for k, _, w in columns if k != key)
    room = max(minimum, width - fixed - 4)
    if maximum is not None:
        room = min(maximum, room)
    return [(k, label, room if k == key else w) for k, label, w in columns]
