"""Terminal-safe cell text: wire strings may carry escape sequences, control bytes, markup-like text."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dtle_tui.text.textsafe import display_width, safe_text, truncate


def test_markup_like_text_is_left_alone():
    # Markup safety is the UI's job (rich Text); the characters themselves must survive.
    assert safe_text("mig-[b]ops") == "mig-[b]ops"
    assert safe_text("[@click=app.quit]x[/]") == "[@click=app.quit]x[/]"


def test_ansi_sequences_removed():
    assert safe_text("\x1b[31mred\x1b[0m") == "red"
    assert safe_text("a\x1b]0;title\x07b") == "ab"  # OSC window title
    assert safe_text("a\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\") == "alink"
    assert safe_text("\x1b[2J\x1b[Hclear") == "clear"
    assert safe_text("c\x9b31mx") == "cx"  # 8-bit CSI


def test_control_characters_made_visible():
    assert safe_text("bell\x07") == "bell\\x07"
    assert safe_text("nul\x00del\x7f") == "nul\\x00del\\x7f"
    assert safe_text("lone\x1b") == "lone\\x1b"
    assert safe_text("tab\there") == "tab here"
    assert safe_text("rtl\u202eevil") == "rtl\\u202eevil"


def test_newlines_collapse_for_single_line_cells():
    assert safe_text("a\nb\r\nc\rd") == "a⏎b⏎c⏎d"
    assert safe_text("a\nb\x07", single_line=False) == "a\nb\\x07"


def test_cjk_and_emoji_widths_and_truncation():
    assert display_width("中文") == 4 and display_width("😀") == 2 and display_width("e\u0301") == 1
    assert safe_text("数据库连接失败", max_len=7) == "数据库…"
    assert display_width(safe_text("数据库连接失败", max_len=8)) <= 8
    assert safe_text("😀😀😀", max_len=5) == "😀😀…"
    assert safe_text("abcdef", max_len=4) == "abc…"
    assert safe_text("abc", max_len=3) == "abc"
    assert safe_text("abc", max_len=1) == "…" and safe_text("abc", max_len=0) == ""


def test_long_strings():
    s = "x" * 10_000
    assert safe_text(s) == s
    out = safe_text(("中\x1b[1m\n" * 3000), max_len=50)
    assert display_width(out) <= 50 and out.endswith("…") and "\x1b" not in out


def test_non_strings():
    assert safe_text(None) == "" and safe_text(42) == "42" and safe_text(b"a\x07") == "a\\x07"
    assert safe_text(b"\xff") == "\ufffd"


@given(st.text(max_size=200), st.one_of(st.none(), st.integers(0, 40)))
def test_output_is_always_terminal_safe(s, max_len):
    out = safe_text(s, max_len=max_len)
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in out)
    if max_len is not None:
        assert display_width(out) <= max_len


@pytest.mark.parametrize("width", [0, 1, 2, 3, 10])
def test_truncate_bounds(width):
    assert display_width(truncate("中a中b中c", width)) <= width
