"""Make strings from the wire safe for one terminal cell: no escape sequences, no control characters,
no line breaks, bounded display width.

Anything from Nomad or Consul (job IDs, task event messages, MySQL errors, KV values) may hold ANSI
sequences or control bytes that would move the cursor or recolour the terminal. Rich markup (`[b]`) is
not handled here: the UI renders these strings through `rich.text.Text`, never as markup.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any, Optional

__all__ = ["safe_text", "display_width", "truncate"]

ELLIPSIS = "…"
NEWLINE_MARK = "⏎"

# CSI (ESC [ … final), OSC (ESC ] … BEL or ST), other two-byte ESC sequences, and their 8-bit C1 forms.
_ANSI = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"
    r"|\x1b[PX^_][^\x1b]*(?:\x1b\\)?"
    r"|\x1b[ -/]*[0-~]"
    r"|\x9b[0-?]*[ -/]*[@-~]"
)
_NEWLINES = re.compile(r"\r\n|\r|\n|\x0b|\x0c|\x85|\u2028|\u2029")
# Remaining C0/C1 controls and DEL, plus bidi overrides/isolates, which reorder what follows them.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _visible(m: re.Match) -> str:
    ch = m.group()
    if ch == "\t":
        return " "
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _char_width(ch: str) -> int:
    if ch.isascii():
        return 1
    if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me", "Cf"):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def display_width(s: str) -> int:
    """Terminal cells `s` takes (East Asian wide and most emoji count 2, combining marks 0)."""
    if s.isascii():
        return len(s)
    return sum(_char_width(ch) for ch in s)


def truncate(s: str, max_width: int) -> str:
    """Cut `s` to at most `max_width` cells, ending in "…" when something was cut."""
    if max_width <= 0:
        return ""
    if s.isascii():
        return s if len(s) <= max_width else s[: max_width - 1] + ELLIPSIS
    if display_width(s) <= max_width:
        return s
    out = []
    used = 0
    for ch in s:
        w = _char_width(ch)
        if used + w > max_width - 1:
            break
        out.append(ch)
        used += w
    return "".join(out) + ELLIPSIS


def safe_text(s: Any, max_len: Optional[int] = None, single_line: bool = True) -> str:
    """`s` made safe for a terminal cell.

    Escape sequences are removed, other control characters shown as `\\x07`-style text, line breaks
    become "⏎" (kept as "\\n" with single_line=False), and the result is cut to `max_len` cells.
    """
    if s is None:
        return ""
    if not isinstance(s, str):
        s = s.decode("utf-8", "replace") if isinstance(s, (bytes, bytearray)) else str(s)
    if not (s.isascii() and s.isprintable()):
        if "\x1b" in s or "\x9b" in s:
            s = _ANSI.sub("", s)
        s = _NEWLINES.sub(NEWLINE_MARK if single_line else "\n", s)
        if single_line:
            s = _CONTROL.sub(_visible, s)
        else:
            s = "\n".join(_CONTROL.sub(_visible, line) for line in s.split("\n"))
    if max_len is not None:
        s = truncate(s, max_len)
    return s
