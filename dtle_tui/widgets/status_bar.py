"""The status line: cluster, region/namespace, Nomad version, refresh age, connection state."""

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


class StatusBar(Static):
    """Re-rendered only when its text changes; the refresh age ticks once a second at most.

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
            if snap.nomad.ok_at:
                parts.append(f"  {fmt.duration(clock.now() - snap.nomad.ok_at)} ago")
            parts.append("  ")
            parts.append_text(connection_text(snap.nomad, "Nomad"))
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
