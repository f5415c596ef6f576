"""Reading what the operator sees: the painted lines, the status line, the toasts, the tables' rows."""

from __future__ import annotations

import io
import re
from typing import Any

from dtle_tui.textual_private import notifications as held_notifications
from dtle_tui.textual_private import screen_strips
from dtle_tui.widgets.status_bar import StatusBar


def visible_lines(app: Any) -> list:
    """The terminal as the user sees it: one string per line, modals and notifications included."""
    return [strip.text for strip in screen_strips(app)]


def segments(app: Any):
    """Every styled segment painted on the terminal, line after line."""
    for strip in screen_strips(app):
        yield from strip


def screen_text(app: Any) -> str:
    """Everything held by the current screen's tables and texts, as plain text (rows whole, even those
    scrolled out of view)."""
    from rich.console import Console
    from textual.widgets import DataTable, Static

    from dtle_tui.widgets.virtual_table import VirtualTable

    console = Console(file=io.StringIO(), width=400, color_system=None, record=True)
    parts = []
    for widget in app.screen.query("*"):
        if isinstance(widget, (DataTable, VirtualTable)):
            for row in range(widget.row_count):
                parts.append(" ".join(str(c) for c in widget.get_row_at(row)))
        elif isinstance(widget, Static):
            content = widget.content
            if isinstance(content, str):
                parts.append(content)
            else:
                console.print(content)
                parts.append(console.export_text(clear=True))
    return "\n".join(parts)


# A service's error on the status line, once something was shown before it (issue 5).
STALE = re.compile(r"(Nomad|Consul) stale since \d\d:\d\d:\d\d: ")


def status_line(app: Any) -> str:
    bar = app.screen.query_one(StatusBar)
    return bar._last or ""


def notifications(app: Any) -> list:
    """The toasts held, each as `title message`."""
    return [f"{n.title} {n.message}" for n in held_notifications(app)]


def jobs_table(app: Any):
    return app.screen.query_one("#jobs-table")


def row_keys(table: Any) -> list:
    """The rows' keys in the order shown: the Jobs table (VirtualTable) and KeyedTables alike."""
    return table.row_keys


def gtid_cell(app: Any, job_id: str) -> str:
    return str(jobs_table(app).get_cell(job_id, "gtid"))


def focused_id(app: Any) -> Any:
    """The ID of the focused widget (None when nothing is). A screen sets its focus a moment after it
    mounts: wait for it (`until(pilot, lambda: focused_id(app) == …)`) rather than read it at once."""
    widget = app.focused
    return widget.id if widget is not None else None


def palette_highlighted(app: Any) -> str:
    """The command the open palette would run on enter: its highlighted option's text ("" while it has
    found none yet; it searches as the operator types)."""
    from textual.command import CommandList

    results = app.screen.query_one(CommandList)
    if results.highlighted is None:
        return ""
    return str(results.get_option_at_index(results.highlighted).prompt)


def table_lines(app: Any) -> list:
    """The current screen's main table as painted on the terminal (header first)."""
    table = app.screen.table
    top = table.region.y
    return visible_lines(app)[top:top + table.region.height]


def footer_labels(app: Any) -> list:
    """The footer's keys as (key, label) from the footer's own widgets, in their order. (FooterKey is not
    among textual.widgets' public names: a test-only reach, checked by every test that calls this.)"""
    from textual.widgets._footer import FooterKey

    return [(key.key_display, key.description) for key in app.screen.query(FooterKey)]
