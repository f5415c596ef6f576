"""The floor for "time to first painted job list": a Textual app showing one DataTable with one row.

Run it exactly like the console (`python -m bench.minimal_app ROW_TEXT` on the same pty, same size), so
the ratio between the two measures what dtle-tui adds on top of starting Python and Textual.
"""

from __future__ import annotations

import sys

from textual.app import App, ComposeResult
from textual.widgets import DataTable

DEFAULT_ROW = "minimal-bench-row"


class MinimalApp(App):
    def __init__(self, row: str) -> None:
        super().__init__()
        self.row = row

    def compose(self) -> ComposeResult:
        yield DataTable(id="table")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("ID", "Status")
        table.add_row(self.row, "running", key=self.row)


def main(argv: list | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    MinimalApp(args[0] if args else DEFAULT_ROW).run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
