"""Update a Static only when what it shows changes.

`Static.update` repaints (and by default lays out) whatever it is given, even the same text again. The
screens re-derive their texts from every snapshot, and snapshots also come when nothing visible moved
(Consul's held query answering unchanged once a minute, Nomad 0.11's blocking queries answering the same
lists after their wait): each of those would write the same line to the terminal again (issue 15: an
idle console writes nothing).
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import Static


def same_content(a: Any, b: Any) -> bool:
    """Two contents that paint alike. rich's Text equality compares the characters and the spans only, not
    the text's own style or justification, so those are compared here too."""
    if isinstance(a, str) and isinstance(b, str):
        return a == b
    if isinstance(a, Text) and isinstance(b, Text):
        return (a.plain == b.plain and a.spans == b.spans and a.style == b.style and a.justify == b.justify
                and a.overflow == b.overflow and a.no_wrap == b.no_wrap and a.end == b.end)
    return False  # anything else: assume it changed


def update_static(widget: Static, content: Any, *, layout: bool = True) -> bool:
    """`widget.update(content)` unless it already shows exactly that; True when it was updated."""
    if same_content(widget.content, content):
        return False
    widget.update(content, layout=layout)
    return True
