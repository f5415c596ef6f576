"""Every use of Textual's private API, in one place, each with the reason no public way does.

pyproject pins Textual to the tested major version; tests/unit/test_textual_private.py checks that each
name below still exists and is still the same kind of thing (method, list, attribute), so an upgrade
that moves one fails there, loudly, instead of in an operator's crash report.
"""

from __future__ import annotations

from typing import Any, Callable

# Names this module reaches into, and what each must be (the fence test reads this table).
# "method": a function on App; "list" / "attribute": set on every App instance by App.__init__.
PRIVATE_NAMES = {
    "_fatal_error": "method",  # Textual's crash handler: prints a traceback with every local variable
    "_close_messages_no_wait": "method",  # how _fatal_error itself ends the app
    "_exit_renderables": "list",  # what Textual prints after leaving the alternate screen
    "_driver": "attribute",  # the terminal writer
    "_display": "method",  # where a frame goes to the terminal (the benchmark times paints there)
    "_notifications": "attribute",  # the toasts on screen (tests read them)
}
# The same for a Screen (set by Screen.__init__).
PRIVATE_SCREEN_NAMES = {
    "_compositor": "attribute",  # what the screen last composed: the terminal's lines (tests read them)
}


class QuietCrash:
    """Mixed into the App before textual's App: `report_crash()` replaces Textual's crash report.

    Textual has no public hook for an unhandled exception; its `_fatal_error` prints a traceback with
    every local variable, and a job spec in a local holds database passwords."""

    def report_crash(self) -> None:  # pragma: no cover - the app overrides it
        raise NotImplementedError

    def _fatal_error(self) -> None:
        self.report_crash()


def exit_printing(app: Any, renderable: Any) -> None:
    """End the app now and print `renderable` once the terminal is restored (as _fatal_error does)."""
    app._exit_renderables.append(renderable)
    app._close_messages_no_wait()


def write_to_terminal(app: Any, text: str) -> bool:
    """Write raw bytes to the terminal (an OSC 52 sequence wrapped for tmux). Textual has no public raw
    write; its driver is what App.copy_to_clipboard itself writes to. False when there is no terminal."""
    driver = getattr(app, "_driver", None)
    if driver is None:
        return False
    driver.write(text)
    return True


def notifications(app: Any) -> list:
    """The notifications currently held by the app (for tests)."""
    return list(app._notifications)


def screen_strips(app: Any) -> list:
    """The terminal as the user sees it, one Strip (styled segments) per line, modals and toasts included
    (for tests). Textual has no public read of the composed screen short of an SVG export."""
    return app.screen._compositor.render_strips()


def spy_on_paints(app: Any, spy: Callable[[Any, Any], None]) -> Callable[[Any, Any], None]:
    """Route every frame `app` sends to the terminal through `spy(screen, renderable)` (the benchmark's
    key-to-paint timer); returns the original, which `spy` must call."""
    original = app._display
    app._display = spy
    return original
