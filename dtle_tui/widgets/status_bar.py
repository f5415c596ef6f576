"""The status line: cluster, region/namespace, Nomad version, how fresh the data is, connection state."""

from __future__ import annotations

from typing import Optional

from rich.text import Text
from textual.widgets import Static

from dtle_tui.live.snapshot import FeedState, Snapshot
from dtle_tui.text import clock, fmt


def connection_text(state: FeedState, service: str) -> Text:
    if state.error:
        return Text.assemble(
            (f"{service} stale since {fmt.hms(state.stale_since)}: ", "bold"),
            state.error,
            style="bold red",
        )
    if state.ok_at is None:
        return Text(f"{service} connecting…")
    return Text("OK", style="green")


def freshness_text(state: FeedState, refresh_s: float) -> Text:
    """How fresh Nomad's data is, in words that do not tick while nothing changes (issue 15): `live` while
    changes arrive as they happen, `polled every Ns` when the server does not hold blocking queries. An
    age, which ticks, only while the data is stale (the last answer failed): then it is news."""
    if state.error:
        if state.ok_at is None:
            return connection_text(state, "Nomad")
        age = Text(f"{fmt.duration(clock.now() - state.ok_at)} ago  ")
        return age.append_text(connection_text(state, "Nomad"))
    if state.ok_at is None:
        return connection_text(state, "Nomad")
    if state.live:
        return Text("live", style="green")
    return Text(f"polled every {refresh_s:g}s", style="green")


class StatusBar(Static):
    """Re-rendered only when its text changes. The once-a-second tick redraws only while the text holds
    an age (stale data); while the data is live the line reads the same and nothing is written.

    The address and read-only flag come from the app's settings at each redraw: they change when the
    operator switches context."""

    def __init__(self, **kwargs) -> None:
        super().__init__("", markup=False, **kwargs)
        self.snapshot: Optional[Snapshot] = None
        self._last: Optional[str] = None

    def on_mount(self) -> None:
        self.set_interval(1.0, self.redraw)
        self.redraw()

    def show(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self.redraw()

    def redraw(self) -> None:
        settings = self.app.settings  # type: ignore[attr-defined]
        address = settings.nomad.addr
        snap = self.snapshot
        parts = Text()
        if settings.read_only:
            parts.append(" READ-ONLY ", style="reverse bold")
            parts.append(" ")
        # The scheme is noise for plain http; https stays visible.
        parts.append(address[len("http://"):] if address.startswith("http://") else address)
        if snap is not None:
            where = "/".join(x for x in (snap.region, snap.namespace) if x)
            if where:
                parts.append(f"  {where}")
            if snap.nomad_version:
                parts.append(f"  Nomad {snap.nomad_version}")
            parts.append("  ")
            parts.append_text(freshness_text(snap.nomad, settings.refresh))
            if snap.consul.error:
                parts.append("  ")
                parts.append_text(connection_text(snap.consul, "Consul"))
        else:
            parts.append("  connecting…")
        key = parts.plain
        if key != self._last:  # unchanged text: no repaint
            # Only a change in the number of lines needs a layout pass; the age ticking every second
            # must repaint this one line, not the screen's tables and scrollbars.
            lines = 1 if len(key) <= max(1, self.size.width - 2) else 2
            relayout = lines != getattr(self, "_lines", 0)
            self._last, self._lines = key, lines
            self.update(parts, layout=relayout)
