"""What every console screen shares: the context banner, the status line, the footer, and the way in for
every write key (`action_write`)."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, Optional

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import ActiveBinding
from textual.screen import Screen
from textual.widgets import Static

from dtle_tui.keys import bindings_of, write_name, writes
from dtle_tui.live.snapshot import Snapshot
from dtle_tui.widgets.status_bar import StatusBar
from dtle_tui.widgets.steady_footer import SteadyFooter

if TYPE_CHECKING:
    from dtle_tui.console import Console
    from dtle_tui.ops.report import ActionResult


# The footer's order at 80 columns (issue 26): per screen, the keys that matter most there, first; then the
# screen's other shown keys, then the app's. `?` and `q` always end it; what does not fit whole is left
# out (it stays in `?` and the palette), never cut.
FOOTER_FIRST: dict[str, tuple[str, ...]] = {
    "Jobs": ("dtle.table.open", "dtle.jobs.open", "dtle.jobs.filter", "dtle.job.delete", "dtle.job.reset_gtid",
             "dtle.app.nodes", "dtle.app.orphans"),
    "Job detail": ("dtle.detail.back", "dtle.detail.logs", "dtle.alloc.restart", "dtle.alloc.stop",
                   "dtle.detail.open_alloc", "dtle.table.open", "dtle.detail.spec", "dtle.job.delete"),
    "Allocation": ("dtle.allocation.back", "dtle.allocation.logs", "dtle.alloc.restart", "dtle.alloc.stop"),
    "Nodes": ("dtle.table.open", "dtle.nodes.drain", "dtle.nodes.eligibility", "dtle.nodes.all_columns",
              "dtle.app.jobs"),
    "Node detail": ("dtle.node.back", "dtle.nodes.drain", "dtle.nodes.eligibility"),
    "Logs": ("dtle.logs.back", "dtle.logs.toggle_stream", "dtle.logs.pause", "dtle.logs.wrap", "dtle.logs.search"),
}
FOOTER_LAST = ("dtle.app.help", "dtle.app.quit")  # always in the footer, at its end
FOOTER_SHOWN = ("dtle.app.dismiss",)  # shown, when it applies, before anything but ? and q


def footer_width(app: Any, active: ActiveBinding) -> int:
    """Cells one key takes in the compact footer: its key, a space, its label, a space after it."""
    return len(app.get_key_display(active.binding)) + 1 + len(active.binding.description) + 1


def fit_footer(app: Any, bindings: dict[str, ActiveBinding], first: tuple[str, ...], width: int) \
        -> dict[str, ActiveBinding]:
    """`bindings` reordered for the footer and the shown ones that do not fit `width` whole left out: the
    ids of `first` in their order, then the others (the app's last), `?` and `q` at the end, always."""
    shown = [(key, active) for key, active in bindings.items() if active.binding.show]
    hidden = {key: active for key, active in bindings.items() if not active.binding.show}
    seen_actions: set[str] = set()
    unique = []
    for key, active in shown:  # the footer shows one key per action
        if active.binding.action not in seen_actions:
            seen_actions.add(active.binding.action)
            unique.append((key, active))
    last = [x for x in unique if x[1].binding.id in FOOTER_LAST]
    rest = [x for x in unique if x[1].binding.id not in FOOTER_LAST]

    def rank(item: tuple[str, ActiveBinding]) -> tuple[int, int]:
        binding_id = item[1].binding.id or ""
        if binding_id in FOOTER_SHOWN:
            return (0, 0)
        if binding_id in first:
            return (1, first.index(binding_id))
        return (3 if item[1].node is app else 2, rest.index(item))

    room = width - sum(footer_width(app, active) for _, active in last) + 1
    chosen = []
    for key, active in sorted(rest, key=rank):
        cells = footer_width(app, active)
        if cells <= room:
            chosen.append((key, active))
            room -= cells
    return {**dict(chosen), **dict(last), **hidden}


@functools.cache
def _repair_actions(cls: type) -> tuple[str, ...]:
    """The repair keys' actions a screen class binds (r, K), once per class."""
    return tuple(b.action for b in bindings_of(cls) if writes(b.action) and write_name(b.action) in REPAIRS)


REPAIRS = ("restart", "stop-alloc")  # the repairs Nomad refuses on some allocations (ops/repair.repair_refusal)


class ConsoleScreen(Screen):
    """A screen fed by poller snapshots. Hidden screens do not render; they catch up on resume."""

    TITLE_TEXT = ""
    KEYS_TITLE = ""  # the screen's name in help and the README's keys table

    @property
    def console(self) -> Console:
        return self.app  # type: ignore[return-value]

    def compose_banner(self) -> ComposeResult:
        yield Static("", id="banner", classes="banner")

    def compose_status(self) -> ComposeResult:
        yield StatusBar(id="status")
        # Compact, and without the palette hint (it is on the help screen): at 80 columns the footer
        # then holds the keys an operator needs most.
        yield SteadyFooter(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self._banner_for: object = None
        self.apply_banner()

    def apply_banner(self) -> None:
        """The screen title and the context's name and colour, so production is never taken for staging.
        Re-applied when the operator switches context."""
        settings = self.console.settings
        key = (settings.context, settings.context_color)
        if key == getattr(self, "_banner_for", None):
            return
        self._banner_for = key
        try:
            banner = self.query_one("#banner", Static)
        except Exception:  # a screen without a banner
            return
        label = Text(f" {self.TITLE_TEXT} ", style="bold")
        if settings.context:
            label.append(f" context: {settings.context} ", style="reverse bold")
        banner.update(label)
        banner.styles.background = None
        if settings.context_color:
            try:
                banner.styles.background = settings.context_color
            except Exception:  # a colour Textual cannot parse: keep the theme's banner
                pass

    def fit_columns(self, width: int) -> None:
        """Give the screen's tables the columns that suit `width`; called on mount and on resize."""

    def on_resize(self) -> None:
        self.refresh_bindings()  # the footer fits its keys to the new width
        self.fit_columns(self.size.width)
        if self.snapshot is not None:
            self.show_snapshot(self.snapshot)

    def on_screen_resume(self) -> None:
        snap = self.console.snapshot
        if snap is not None:
            self.show_snapshot(snap)

    def receive(self, snapshot: Snapshot) -> None:
        """Called by the app for the active screen only."""
        self.show_snapshot(snapshot)

    def show_snapshot(self, snapshot: Snapshot) -> None:
        self.apply_banner()
        self.sync_offers()
        try:
            self.query_one(StatusBar).show(snapshot)
        except Exception:  # not mounted yet
            pass

    @property
    def active_bindings(self) -> dict[str, ActiveBinding]:
        """What the footer shows, fitted to its width (fit_footer). Read-only mode leaves the write keys
        out, and a repair Nomad cannot do on the selection (`offers`); they stay bound, so a press is
        still answered with the refusal and its reason (action_write), not silently dropped."""
        bindings = super().active_bindings
        read_only = self.console.settings.read_only
        bindings = {key: active for key, active in bindings.items()
                    if not (writes(active.binding.action) and (read_only or not self.offers(active.binding.action)))}
        width = self.size.width or self.app.size.width
        return fit_footer(self.app, bindings, FOOTER_FIRST.get(self.KEYS_TITLE, ()), width)

    def offers(self, action: str) -> bool:
        """The footer and the palette offer `action` now: not a repair Nomad would refuse on what is
        selected (`r` on a task that does not run, `K` on an allocation that has ended)."""
        if not writes(action):
            return True
        name = write_name(action)
        if name not in REPAIRS:
            return True
        # Here, not at the top: the Jobs screen, painted first, has no repair key (issue 15).
        from dtle_tui.ops.repair import repair_refusal

        return repair_refusal(name, self.write_target(name)) is None

    def sync_offers(self) -> None:
        """Refresh the footer when what it offers changed (another row selected, an allocation ended)."""
        repairs = _repair_actions(type(self))
        if not repairs:
            return
        offered = tuple(self.offers(action) for action in repairs)
        if offered != getattr(self, "_offered", None):
            self._offered = offered
            self.refresh_bindings()

    def on_data_table_row_highlighted(self) -> None:
        self.sync_offers()

    # ---- write keys (keys.write_key) ----------------------------------------------------------------
    def action_write(self, name: str) -> None:
        """Every write key: the console refuses it in read-only mode, else runs its flow (intents.py)."""
        self.console.write(name, self)

    def write_target(self, name: str) -> Any:
        """What write key `name` acts on here: the job ID, the Allocation or the Node (None: nothing
        selected). Screens with write keys say."""
        return None

    def write_done(self, name: str, target: Any, result: ActionResult) -> None:
        """Write `name` on `target` was reported: a screen may follow its effect (a replaced allocation)."""

    def flash(self, message: str, severity: str = "information", timeout: float = 6.0) -> None:
        self.app.notify(message, severity=severity, timeout=timeout, markup=False)  # type: ignore[arg-type]

    @property
    def snapshot(self) -> Optional[Snapshot]:
        return self.console.snapshot
