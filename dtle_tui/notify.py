"""Alerts to the operator's terminal: a desktop notification (OSC 777 and OSC 9), the bell, a toast.

OSC 777 (`ESC ] 777 ; notify ; <title> ; <body> BEL`) is understood by urxvt, foot, Konsole, WezTerm,
VTE-based terminals with the notify patch; OSC 9 (`ESC ] 9 ; <message> BEL`) by iTerm2, Windows
Terminal, kitty, ConEmu. Both are sent: a terminal ignores the OSC it does not know (one that knows both,
such as WezTerm, shows two). Under tmux they go in its DCS passthrough, as the clipboard does
(clipboard.py): tmux itself forwards neither, and needs `allow-passthrough on`. The bell is a plain BEL,
which tmux handles itself (bell-action, the window's bell flag).

Everything written here comes from the wire (job IDs, node names, driver health texts): control
characters are removed so nothing can end the sequence early or start another one.

Only `Alerter` writes, and the app creates one only with `--notify` (config `notify = true`).
"""

from __future__ import annotations

import logging
import os
import time
from collections import deque
from typing import Any, Callable, Mapping, Optional

from dtle_tui.clipboard import BEL, ESC, tmux_passthrough
from dtle_tui.live.alerts import Alert, AlertGate, TransitionWatch, cluster_counts
from dtle_tui.live.snapshot import Snapshot
from dtle_tui.textual_private import write_to_terminal

__all__ = ["Alerter", "notification_sequences", "osc9", "osc777", "terminal_safe"]

MAX_TEXT = 200

log = logging.getLogger(__name__)


def terminal_safe(text: str, limit: int = MAX_TEXT) -> str:
    """`text` without C0/C1 control characters (ESC, BEL, CSI …), on one line, at most `limit` chars."""
    out = "".join(ch if ch.isprintable() else " " for ch in text)  # C0 and C1 are not printable
    out = " ".join(out.split())
    return out if len(out) <= limit else out[: limit - 1] + "…"


def osc777(title: str, body: str) -> str:
    # The title ends at the first ';': none may be in it. The body is the rest of the sequence.
    return f"{ESC}]777;notify;{terminal_safe(title).replace(';', ',')};{terminal_safe(body)}{BEL}"


def osc9(message: str) -> str:
    # ConEmu reads `9;<digit>…` as one of its own commands (progress, tab title): never start with one.
    text = terminal_safe(message)
    if text[:1].isdigit():
        text = "dtle: " + text
    return f"{ESC}]9;{text}{BEL}"


def notification_sequences(alert: Alert, env: Optional[Mapping[str, str]] = None) -> str:
    """What is written for one alert: OSC 777 + OSC 9 (each wrapped for tmux when $TMUX is set), then
    the bell when the alert rings."""
    sequences = [osc777(alert.title, alert.body), osc9(f"{alert.title}: {alert.body}")]
    if (os.environ if env is None else env).get("TMUX"):
        sequences = [tmux_passthrough(s) for s in sequences]
    return "".join(sequences) + (BEL if alert.bell else "")


class Alerter:
    """Watches the snapshots an app receives and alerts on transitions (live/alerts.py).

    `app` is duck-typed: `notify(message, …)` for the toast and `set_timer(delay, callback)` to release
    held alerts; `write` takes the raw terminal text (the app's driver, as clipboard.py writes to it).
    """

    def __init__(self, app: Any, write: Optional[Callable[[str], Any]] = None,
                 env: Optional[Mapping[str, str]] = None, clock: Callable[[], float] = time.monotonic,
                 gate: Optional[AlertGate] = None) -> None:
        self.app = app
        self.write = write or self._driver_write
        self.env = env
        self.clock = clock
        self.watch = TransitionWatch(self._threshold())
        self.gate = gate or AlertGate()
        self._timer: Any = None
        self.delivered: deque = deque(maxlen=100)  # the last alerts that reached the operator, in order
        self._rows_counted: Any = None

    def _threshold(self) -> Optional[float]:
        settings = getattr(self.app, "settings", None)
        return getattr(settings, "stall_threshold_s", None)

    def _driver_write(self, text: str) -> None:
        write_to_terminal(self.app, text)  # Textual has no public raw write (textual_private.py)

    def reset(self) -> None:
        """Another cluster (context switch): its first snapshot is the new starting point."""
        self.watch = TransitionWatch(self._threshold())
        self.gate = AlertGate(self.gate.burst, self.gate.window_s)
        self._rows_counted = None
        self._stop_timer()

    def on_snapshot(self, snapshot: Snapshot) -> list[Alert]:
        try:
            if snapshot.rows is not self._rows_counted:  # the same tuple when no row changed
                self._rows_counted = snapshot.rows
                self.gate.cluster = cluster_counts(snapshot.rows)
            alerts = self.watch.observe(snapshot)
            if not alerts:
                return []
            return self._deliver(self.gate.offer(alerts, self.clock()))
        except Exception:  # an alert is worth less than the console showing the cluster
            log.exception("alerts: snapshot %s not compared", snapshot.generation)
            return []

    def release_held(self) -> list[Alert]:
        self._timer = None
        return self._deliver(self.gate.release(self.clock()))

    def _deliver(self, alerts: list[Alert]) -> list[Alert]:
        for alert in alerts:
            log.info("alert: %s: %s", terminal_safe(alert.title), terminal_safe(alert.body))
            self.write(notification_sequences(alert, self.env))
            severity = "warning" if alert.bell else "information"
            self.app.notify(f"{alert.title}\n{alert.body}", severity=severity, timeout=10, markup=False)
            self.delivered.append(alert)
        self._arm_timer()
        return alerts

    def _arm_timer(self) -> None:
        due = self.gate.due
        if due is None or self._timer is not None:
            return
        self._timer = self.app.set_timer(max(0.05, due - self.clock()), self.release_held)

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
