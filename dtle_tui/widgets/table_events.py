"""The messages VirtualTable posts (handlers: `on_virtual_table_row_selected`, `..._header_selected`)."""

from __future__ import annotations

from textual.message import Message
from textual.widget import Widget


class RowSelected(Message, namespace="virtual_table"):
    """Enter, or a click on the cursor's row."""

    def __init__(self, table: Widget, key: str) -> None:
        super().__init__()
        self.table = table
        self.key = key

    @property
    def control(self) -> Widget:
        return self.table


class HeaderSelected(Message, namespace="virtual_table"):
    """A click on a column's header."""

    def __init__(self, table: Widget, column_key: str) -> None:
        super().__init__()
        self.table = table
        self.column_key = column_key

    @property
    def control(self) -> Widget:
        return self.table
