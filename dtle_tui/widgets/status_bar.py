"""The status line: cluster, region/namespace, Nomad version, how fresh the data is, connection state."""

from __future__ import annotations

from typing import Optional

from rich.text import Text
from textual.widgets import Static

from dtle_tui.live.snapshot import FeedState, Snapshot
from dtle_tui.text import clock, fmt


def connection_text(state: FeedState, service: str, room: Optional[int] = None) -> Text:
    """`room`: at most this many cells (the error is cut to fit, never the other parts of the line)."""
    if state.error:
        # "stale" only when something was shown that is now old; before any data, say what fails.
        error = state.error
        if state.ok_at:
            head = f"{service} stale since {fmt.hms(state.stale_since)}: "
        else:  # the errors mostly name their service already ("Nomad unreachable at …")
            head = "" if error.startswith(service) else f"{service}: "
        if room is not None and len(head) + len(error) > room:
            error = error[: max(8, room - len(head) - 1)] + "…"
        return Text.assemble((head, "bold"), error, style="bold red")
    if state.ok_at is None:
        return Text(f"{service} connecting…")
    return Text("OK", style="green")


def freshness_text(state: FeedState, refresh_s: float, room: Optional[int] = None) -> Text:
    """How fresh Nomad's data is, in words that do not tick while nothing changes (issue 15): `live` while
    changes arrive as they happen, `polled every Ns` when the server does not hold blocking queries. An
    age, which ticks, only while the data is stale (the last answer failed): then it is news."""
    if state.error:
        if state.ok_at is None:
            return connection_text(state, "Nomad", room)
        age = Text(f"{fmt.duration(clock.now() - state.ok_at)} ago  ")
        return age.append_text(connection_text(state, "Nomad", room))
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

    def _fit(self, head: Text, tails: list, notice: str, refresh_s: float) -> Text:
        """`head`, the connection parts and the notice in two rows at most, whatever the servers say:
        when they do not fit, the errors are cut (then the notice), so a long Nomad error never pushes
        the Consul part or the notice out of sight."""
        width = self.size.width  # the content's width (inside the padding)

        def build(cut: Optional[int], said: str) -> Text:
            text = head.copy()
            for state, service in tails:
                text.append("  ")
                if service == "Nomad":  # how fresh the job data is: `live`, or its age once stale
                    text.append_text(freshness_text(state, refresh_s, cut))
                else:
                    text.append_text(connection_text(state, service, cut))
            if said:
                text.append("  ")
                text.append(said, style="bold yellow")
            return text

        text = build(None, notice)
        if width <= 0 or len(text.wrap(self.app.console, width)) <= 2:
            return text
        # Each error's share of two rows, less what word wrapping may waste; then shorter still.
        cut = max(30, (2 * width - len(head.plain) - len(notice) - 16) // len(tails))
        while True:
            text = build(cut, notice)
            if len(text.wrap(self.app.console, width)) <= 2:
                return text
            if cut > 30:
                cut = max(30, cut - 8)
            elif len(notice) > 24:
                notice = notice[: max(23, len(notice) - 17)] + "…"
            else:
                return text

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
            tails = [(snap.nomad, "Nomad")] + ([(snap.consul, "Consul")] if snap.consul.error else [])
            parts = self._fit(parts, tails, snap.notice, settings.refresh)
        else:
            parts.append("  connecting…")
        key = parts.plain
        if key != self._last:  # unchanged text: no repaint
            # Only a change in the number of lines needs a layout pass; the age ticking every second
            # must repaint this one line, not the screen's tables and scrollbars.
            width = self.size.width
            lines = min(2, len(parts.wrap(self.app.console, width))) if width > 0 else 1
            # Against the height laid out, not the last line count asked for: a two-row text set while
            # the screen was not laid out yet kept one row (the Consul part was then out of sight).
            relayout = lines != getattr(self, "_lines", 0) or (self.size.height and lines != self.size.height)
            self._last, self._lines = key, lines
            self.update(parts, layout=relayout)
