"""NO_COLOR: greys in which a failure stays the most visible text.

Where the dim grey came from: Textual answers NO_COLOR with a filter that turns every colour into its
luminance (textual.filter.Monochrome), after mapping the ANSI colours a rich style names (`bold red`) to
RGB through its ANSI terminal theme (`App.ansi_theme_dark`, MONOKAI; `ansi_theme_light`, ALABASTER). A
saturated red has little luminance: MONOKAI's red (244, 0, 95) becomes rgb(59, 59, 59), barely above a
dark surface — so `down`, `UNHEALTHY` and `2 fail` were the dimmest text on screen; on the light themes
ALABASTER's red (170, 55, 49) became a mid grey, paler than ordinary text.

The cure is at that mapping: under NO_COLOR the app maps the ANSI colours through the themes below, in
which every colour that means something is the brightest grey of its side (white on a dark theme, black
on a light one). A failure is then bold on the strongest foreground there is, never dimmer than ordinary
text; black and white keep their places, so a style such as reverse still reads. Text coloured with a
theme variable in CSS ($error) is handled in dtle_tui.tcss (`:nocolor` rules).

The ANSI themes (ansi-dark, ansi-light) need one more step: Textual picks its NO_COLOR filter once, when
the App is built, by the theme of that moment (textual-dark: the luminance filter); chosen later, from
--theme or the palette, an ANSI theme leaves its colours unconverted and that filter turns each of them
into black, on black. With `ansi_color = False` the ANSI colours are always converted first.
"""

from __future__ import annotations

from typing import Any

from rich.terminal_theme import TerminalTheme

_WHITE, _BLACK, _GREY = (255, 255, 255), (0, 0, 0), (128, 128, 128)

# normal then bright: black, red, green, yellow, blue, magenta, cyan, white. The default colours (the
# first two arguments) are Textual's own, so text without an ANSI colour is drawn as before.
NO_COLOR_DARK = TerminalTheme((12, 12, 12), (217, 217, 217), [_BLACK] + [_WHITE] * 7, [_GREY] + [_WHITE] * 7)
NO_COLOR_LIGHT = TerminalTheme((255, 255, 255), (0, 0, 0), [_BLACK] * 7 + [_WHITE], [_GREY] + [_BLACK] * 6 + [_WHITE])


def apply_no_color(app: Any) -> None:
    """Under NO_COLOR (`app.no_color`, which Textual reads from the environment), map ANSI colours through
    NO_COLOR_DARK / NO_COLOR_LIGHT, the ANSI themes' included. Public App attributes: setting them rebuilds
    Textual's colour filter and restyles the screen."""
    if app.no_color:
        app.ansi_color = False
        app.ansi_theme_dark = NO_COLOR_DARK
        app.ansi_theme_light = NO_COLOR_LIGHT
