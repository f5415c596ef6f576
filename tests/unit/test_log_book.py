"""The Logs screen's lines and their rows when wrapped (widgets/log_book.py, issue 26 item 8)."""

from __future__ import annotations

from rich.cells import cell_len

from dtle_tui.widgets.log_book import CONTINUATION, LogBook, wrap_line


def test_a_long_line_wraps_to_the_width_with_its_continuations_marked() -> None:
    line = "2026-11-27T05:12:01Z [ERROR] " + "x" * 100 + " end"
    rows = wrap_line(line, 40)
    assert all(cell_len(row) <= 40 for row in rows) and len(rows) == 4
    assert rows[0] == line[:40] and all(row.startswith(CONTINUATION) for row in rows[1:])
    assert "".join([rows[0]] + [row[len(CONTINUATION):] for row in rows[1:]]) == line  # nothing lost


def test_wide_characters_and_tabs_never_overflow_a_row() -> None:
    rows = wrap_line("表" * 30 + "\tend", 21)
    assert all(cell_len(row) <= 21 for row in rows)
    assert wrap_line("short", 80) == ["short"] and wrap_line("x" * 50, 0) == ["x" * 50]


def test_rows_and_lines_map_both_ways_and_follow_the_dropped_lines() -> None:
    book = LogBook(max_lines=3)
    rows = book.add(["a" * 25, "b", "c" * 45], width=20)
    assert len(rows) == 2 + 1 + 3
    assert [book.row_of(i) for i in range(3)] == [0, 2, 3]
    assert [book.line_at(r) for r in range(6)] == [0, 0, 1, 2, 2, 2]
    book.add(["d"], width=20)  # "a…" leaves the book; its two rows stay at the top of the view
    assert list(book.lines) == ["b", "c" * 45, "d"] and book.stale == 2
    assert book.row_of(0) == 2 and book.line_at(2) == 0
    assert book.all_rows(0) == ["b", "c" * 45, "d"] and book.stale == 0 and book.row_of(2) == 2

