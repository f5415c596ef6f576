"""Issue 26, item 5: under NO_COLOR a failure (`down`, `UNHEALTHY`, `2 fail`) stays the most visible text —
bold on a foreground at least as strong as ordinary text — in every theme the app offers, dark and light.

What is checked is what reaches the terminal: the segments of the painted screen after Textual's colour
filters (its NO_COLOR filter turns each colour into its luminance; widgets/no_color.py says why that made
the failures dim and how the app answers).
"""

from __future__ import annotations

from typing import Any, List, Optional, Tuple

import pytest
from textual.theme import BUILTIN_THEMES

from dtle_tui.widgets.no_color import NO_COLOR_DARK
from tests import scenes
from tests.helpers import frozen
from tests.helpers.wait import until

frozen_cluster, pinned_clock = frozen.frozen_cluster, frozen.pinned_clock  # the fixtures (tests/helpers/frozen.py)

Seen = Tuple[str, Optional[int], Optional[int], bool]  # text, foreground grey, background grey, bold/reverse


@pytest.fixture
def no_color(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")  # Textual reads it when the App is built


def _grey(color: Any) -> Optional[int]:
    """A colour's grey (they are all greys under NO_COLOR); None for the terminal's default colour."""
    if color is None or color.triplet is None:
        return None
    r, g, b = color.triplet
    return round(r * 0.2126 + g * 0.7152 + b * 0.0722)


def painted(app: Any, text: str) -> List[Seen]:
    """Every painted segment holding `text` exactly (a table cell), as the terminal receives it."""
    out = []
    for strip in app.screen._compositor.render_strips():
        for seg in strip:
            style = seg.style
            if style is not None and seg.text.strip() == text:
                out.append((text, _grey(style.color), _grey(style.bgcolor), bool(style.bold or style.reverse)))
    return out


def contrast(seen: Seen) -> int:
    _, fg, bg, _ = seen
    if fg is None or bg is None:  # the terminal's own colours (the ANSI themes): full contrast
        return 255
    return abs(fg - bg)


def assert_failure_stands_out(app: Any, failure: str, ordinary: str, theme: str) -> None:
    bad, plain = painted(app, failure), painted(app, ordinary)
    assert bad and plain, (theme, failure, ordinary)
    for seen in bad:
        assert seen[3], f"{theme}: {failure!r} is neither bold nor reverse: {seen}"
        assert contrast(seen) >= max(contrast(p) for p in plain), f"{theme}: {failure!r} {seen} dimmer than {plain}"
        assert contrast(seen) >= 128, f"{theme}: {failure!r} barely stands out from its background: {seen}"


async def _each_theme(pilot, check) -> None:
    app = pilot.app
    for theme in sorted(BUILTIN_THEMES):
        app.theme = theme
        await pilot.pause(0.3)
        check(theme)


async def test_failures_on_nodes_and_jobs_stay_the_most_visible_in_every_theme(frozen_cluster, no_color):
    app = scenes.make_app(frozen_cluster)
    async with app.run_test(size=(80, 24)) as pilot:
        assert app.no_color and app.ansi_theme_dark is NO_COLOR_DARK
        await scenes.loaded(pilot)
        await _each_theme(pilot, lambda theme: assert_failure_stands_out(app, "2 fail", "crm-sync", theme))
        await scenes.nodes(pilot)
        await until(pilot, lambda: painted(app, "down"), what="the down node")

        def nodes_check(theme: str) -> None:
            assert_failure_stands_out(app, "down", "dtle-node-3", theme)
            assert_failure_stands_out(app, "UNHEALTHY", "dtle-node-2", theme)

        await _each_theme(pilot, nodes_check)


async def test_without_no_color_the_colours_are_textuals(frozen_cluster, monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    app = scenes.make_app(frozen_cluster)
    async with app.run_test(size=(80, 24)) as pilot:
        await scenes.loaded(pilot)
        assert not app.no_color and app.ansi_theme_dark is not NO_COLOR_DARK
        colours = [seg.style.color.triplet for strip in app.screen._compositor.render_strips() for seg in strip
                   if seg.text.strip() == "2 fail"]
        assert colours and all(c is not None and c.red > c.green for c in colours)  # still red


@pytest.mark.parametrize("theme", ["textual-dark", "textual-light"])
def test_nodes_under_no_color(theme, frozen_cluster, no_color, snap_compare):
    app = scenes.make_app(frozen_cluster, "--theme", theme)
    assert snap_compare(app, terminal_size=(80, 24), run_before=scenes.nodes)


@pytest.mark.parametrize("theme", ["textual-dark", "solarized-light"])
def test_jobs_under_no_color(theme, frozen_cluster, no_color, snap_compare):
    app = scenes.make_app(frozen_cluster, "--theme", theme)
    assert snap_compare(app, terminal_size=(80, 24), run_before=scenes.jobs)
