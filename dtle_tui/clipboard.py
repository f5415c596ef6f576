"""Copy to the clipboard through OSC 52, so it works over SSH and inside tmux.

OSC 52 (`ESC ] 52 ; c ; <base64> BEL`) asks the *terminal* to set its clipboard: no X11/Wayland access
on the host running dtle-tui is needed, which is the point when the console runs on a bastion over SSH.
Textual's `App.copy_to_clipboard` emits exactly that, but nothing for tmux: tmux only forwards it when
`set-clipboard on` is configured. The passthrough form (`ESC P tmux; <sequence, every ESC doubled> ESC \\`,
honoured with `allow-passthrough on`) reaches the outer terminal in the other setups, so under tmux both
are sent; a terminal that gets both sets the same text twice.

No Textual import here: `copy_to_clipboard` takes an App (duck-typed) or any writer.
"""

from __future__ import annotations

import base64
import os
from typing import Any, Callable, Mapping, Optional, Union

from dtle_tui.textual_private import write_to_terminal

__all__ = ["osc52", "tmux_passthrough", "copy_to_clipboard", "copy_and_notify"]

ESC = "\x1b"
BEL = "\x07"
ST = ESC + "\\"

Writer = Union[Callable[[str], Any], Any]


def _in_tmux(env: Optional[Mapping[str, str]]) -> bool:
    return bool((os.environ if env is None else env).get("TMUX"))


def tmux_passthrough(sequence: str) -> str:
    """Wrap an escape sequence for tmux's DCS passthrough (every ESC inside is doubled)."""
    return f"{ESC}Ptmux;{sequence.replace(ESC, ESC + ESC)}{ST}"


def osc52(text: str, env: Optional[Mapping[str, str]] = None) -> str:
    """The OSC 52 sequence setting the clipboard to `text` (UTF-8, base64, BEL-terminated),
    wrapped for tmux passthrough when $TMUX is set."""
    payload = base64.b64encode(text.encode("utf-8")).decode("ascii")
    sequence = f"{ESC}]52;c;{payload}{BEL}"
    return tmux_passthrough(sequence) if _in_tmux(env) else sequence


def copy_to_clipboard(target: Writer, text: str, env: Optional[Mapping[str, str]] = None) -> None:
    """Copy `text`: `target` is a Textual App (preferred: it also remembers `app.clipboard`), a
    callable taking a string, or an object with `write(str)` (a file; flushed when it can be)."""
    app_copy = getattr(target, "copy_to_clipboard", None)
    if callable(app_copy):
        app_copy(text)  # plain OSC 52 through the app's driver
        if _in_tmux(env):
            write_to_terminal(target, osc52(text, env))  # the tmux-wrapped copy Textual does not send
        return
    sequence = osc52(text, env)
    write = getattr(target, "write", None)
    if callable(write):
        write(sequence)
        flush = getattr(target, "flush", None)
        if callable(flush):
            flush()
    elif callable(target):
        target(sequence)
    else:
        raise TypeError("copy_to_clipboard needs an App, a callable or a writable object")


def copy_and_notify(app: Any, text: Optional[str], what: str) -> bool:
    """The `c` key in one call: copy `text` and tell the operator what was copied.

    `what` names it in the operator's words ("job ID", "Gtid set"). Nothing to copy is a warning,
    not an error. Returns True when something was copied.
    """
    if not text:
        app.notify(f"No {what} to copy.", severity="warning", markup=False)
        return False
    copy_to_clipboard(app, text)
    shown = text if len(text) <= 60 else text[:59] + "…"
    shown = "".join(ch if ch.isprintable() else " " for ch in shown)
    app.notify(f"Copied {what}: {shown}", markup=False, timeout=3)
    return True
