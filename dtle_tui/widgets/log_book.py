"""The lines of a task log and the rows they take in the Logs screen's view, cut at its edge or wrapped.

The screen (screens/logs.py) keeps the lines here, at most `log_lines` of them, and writes rows to a
Textual `Log`; the book says where each line starts in the view, so search, jumps and a re-wrap at a new
width land on the same line.
"""

from __future__ import annotations

from collections import deque
from itertools import islice
from typing import Iterable

from rich.cells import cell_len, chop_cells

CONTINUATION = "↳ "  # marks the rows of a wrapped line after its first


def wrap_line(line: str, width: int) -> list:
    """One log line as rows of at most `width` cells, the rows after the first marked CONTINUATION."""
    text = line.expandtabs()
    if width <= len(CONTINUATION) * 4 or cell_len(text) <= width:
        return [text]
    first, *rest = chop_cells(text, width)
    return [first] + [CONTINUATION + row for row in chop_cells("".join(rest), width - len(CONTINUATION))]


class LogBook:
    """The lines of a log, at most `max_lines` (the newest), and how many rows each takes in the view.

    Wrapped, the view holds more rows than lines and prunes nothing itself: rows of lines the book has
    dropped stay at its top (`stale`) until the view is rebuilt."""

    def __init__(self, max_lines: int) -> None:
        self.lines: deque = deque(maxlen=max_lines)
        self.rows: deque = deque(maxlen=max_lines)
        self.stale = 0

    def clear(self) -> None:
        self.lines.clear()
        self.rows.clear()
        self.stale = 0

    def add(self, lines: Iterable[str], width: int) -> list:
        """Keep `lines`; the rows to write to the view (`width` 0: unwrapped)."""
        out: list = []
        for line in lines:
            if len(self.lines) == self.lines.maxlen:
                self.stale += self.rows[0]  # dropped with its line by the append below
            rows = wrap_line(line, width) if width else [line]
            self.lines.append(line)
            self.rows.append(len(rows))
            out.extend(rows)
        return out

    def all_rows(self, width: int) -> list:
        """Every row of the view again, for a new width (0: unwrapped)."""
        lines = list(self.lines)
        self.clear()
        return self.add(lines, width)

    def row_of(self, index: int) -> int:
        """The view's row where line `index` starts."""
        return self.stale + sum(islice(self.rows, 0, max(0, index)))

    def line_at(self, row: int) -> int:
        """The line shown on the view's row `row`."""
        row -= self.stale
        for index, count in enumerate(self.rows):
            if row < count:
                return index
            row -= count
        return max(0, len(self.rows) - 1)
