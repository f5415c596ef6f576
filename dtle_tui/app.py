"""The App: modes (Jobs, Nodes, Orphans), global keys, theme, and routing of poller snapshots."""

from __future__ import annotations

import importlib
import logging
import pkgutil
import sys
import threading
from typing import TYPE_CHECKING, Any, Callable, Iterable, Optional

from rich.text import Text
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.theme import BUILTIN_THEMES

from dtle_tui.api.http import check_tls_files
from dtle_tui.config.settings import ConfigError, Settings, contexts, settings_for_context
from dtle_tui.keys import bindings_of, palette_commands, remapped
from dtle_tui.live.poller import Poller
from dtle_tui.live.snapshot import Snapshot
from dtle_tui.screens.base import ConsoleScreen
from dtle_tui.screens.jobs import JobsScreen
from dtle_tui.text.secrets import redact
from dtle_tui.textual_private import QuietCrash, exit_printing
from dtle_tui.textual_private import notifications as held_notifications
from dtle_tui.tuning import fit_thresholds, held_at_start_up, release_start_up_hold
from dtle_tui.widgets.no_color import apply_no_color
from dtle_tui.widgets.virtual_table import VirtualTable

if TYPE_CHECKING:
    from dtle_tui.console import TailHandle
    from dtle_tui.intents import Writes
    from dtle_tui.live.logtail import TailState
    from dtle_tui.live.startup import EarlyPoller
    from dtle_tui.notify import Alerter

log = logging.getLogger(__name__)

# The one table of what is loaded when first used, never before the first paint of the job list (issue 15:
# Textual's import and the Jobs screen are what that paint waits for; see bench/RESULTS.md): the other
# screens and dialogs, the write keys' flows and clients (python-consul2 among their imports), log tails,
# alerts. The only place our modules are imported by name. keys.py reads the screens from it too
# (DtleApp.binding_classes), without importing any.
LATER: dict[str, tuple[str, str]] = {
    "job_detail": ("dtle_tui.screens.job_detail", "JobDetailScreen"),
    "allocation": ("dtle_tui.screens.allocation", "AllocationScreen"),
    "logs": ("dtle_tui.screens.logs", "LogsScreen"),
    "nodes": ("dtle_tui.screens.nodes", "NodesScreen"),
    "node_detail": ("dtle_tui.screens.node_detail", "NodeDetailScreen"),
    "orphans": ("dtle_tui.screens.orphans", "OrphansScreen"),
    "confirm": ("dtle_tui.screens.confirm", "ConfirmScreen"),
    "add_job": ("dtle_tui.screens.add_job", "AddJobScreen"),
    "spec": ("dtle_tui.screens.spec", "SpecScreen"),
    "contexts": ("dtle_tui.screens.contexts", "ContextsScreen"),
    "pick": ("dtle_tui.screens.pick", "PickScreen"),
    "help": ("dtle_tui.screens.help", "HelpScreen"),
    "keyed_table": ("dtle_tui.widgets.keyed_table", "KeyedTable"),
    "writes": ("dtle_tui.intents", "Writes"),
    "tail": ("dtle_tui.intents", "start_tail"),
    "alerter": ("dtle_tui.notify", "Alerter"),
}
# The screens the poller feeds, in the order the README's keys table lists them, and the dialogs (their
# keys have IDs so that [keys] can remap them too).
CONSOLE_SCREENS = ("jobs", "job_detail", "allocation", "logs", "nodes", "node_detail", "orphans")
MODAL_SCREENS = ("confirm", "add_job", "spec", "contexts", "pick", "help")


def later(name: str) -> Any:
    """What LATER names, imported now if it was not yet."""
    module, attr = LATER[name]
    return getattr(importlib.import_module(module), attr)


class SnapshotUpdated(Message):
    """New data from the poller. A newer one replaces an older one still in the queue."""

    def __init__(self, snapshot: Snapshot) -> None:
        super().__init__()
        self.snapshot = snapshot

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, SnapshotUpdated)


class DtleApp(QuietCrash, App):
    # Read through the package loader, not a file path, so the styles load from inside the .pyz too.
    CSS = (pkgutil.get_data("dtle_tui", "dtle_tui.tcss") or b"").decode("utf-8")
    TITLE = "dtle-tui"
    # Jobs is the first screen (get_default_screen), not a mode switched to from on_mount: a mode
    # switch re-parses every stylesheet twice and holds repaints for 50 ms (Textual's delay_update),
    # all before the first paint. It is registered as a mode in on_mount, so `1` comes back to it.
    DEFAULT_MODE = "jobs"
    # Screens other than Jobs are imported when first shown (LATER): the first paint of the job list does
    # not wait for them.
    MODES = {
        "nodes": lambda: later("nodes")(),
        "orphans": lambda: later("orphans")(),
    }

    # Every key of the app and its screens is a Binding with an ID (keys.py): footer, help, palette and the
    # README's table come from them, and the config file's [keys] remaps them by ID.
    BINDINGS = [
        Binding("1", "switch_to('jobs')", "Jobs", tooltip="Jobs screen (on a detail opened from it: back to the list)",
                id="dtle.app.jobs"),
        Binding("2", "switch_to('nodes')", "Nodes", tooltip="Nodes screen", id="dtle.app.nodes"),
        Binding("3", "switch_to('orphans')", "Orphans", tooltip="Orphans screen (Consul drift)",
                id="dtle.app.orphans"),
        Binding("ctrl+r", "refresh_now", "Refresh", tooltip="refresh now (retries at once after an error)",
                id="dtle.app.refresh"),
        Binding("C", "pick_context", "Context", show=False,
                tooltip="switch context (another cluster of the config file)", id="dtle.app.context"),
        # Textual binds ctrl+p itself unless the app does: bound here, it has an ID and help lists it.
        Binding("ctrl+p", "command_palette", "Palette", show=False, priority=True,
                tooltip="command palette: this screen's actions, themes", id="dtle.app.palette"),
        # Shown in the footer only while a toast is up; escape keeps its meaning (back, cancel).
        Binding("ctrl+l", "dismiss_toasts", "Dismiss", tooltip="dismiss the messages (toasts) on screen",
                id="dtle.app.dismiss"),
        Binding("question_mark", "help", "Help", tooltip="every key of this screen", id="dtle.app.help"),
        Binding("q", "quit", "Quit", tooltip="quit", id="dtle.app.quit"),
    ]

    def __init__(self, settings: Settings, poller_factory=Poller, early: Optional[EarlyPoller] = None,
                 collector_held: bool = False) -> None:
        super().__init__()
        self.settings = settings
        self.snapshot: Optional[Snapshot] = None
        self.poller: Optional[Poller] = None
        self._poller_factory = poller_factory
        self._early = early
        self._collector_held = collector_held  # cli.main turned the garbage collector off for start-up
        self._large_gc_thresholds = False
        self.alerter: Optional[Alerter] = None
        self._writes: Optional[Writes] = None
        self._told_first_paint = False
        # Toasts never cover a dialog: those up when one opens, and those said while it is open, wait here
        # (message, severity, seconds left) and are shown when it closes.
        self._waiting_toasts: list[tuple[str, str, float, bool]] = []
        if settings.theme in BUILTIN_THEMES:
            self.theme = settings.theme

    # ---- lifecycle ------------------------------------------------------------------------------
    def on_mount(self) -> None:
        # The CLI holds the collector off during start-up; back on after the first rows are painted, or
        # after a while when none come (an unreachable cluster).
        self.set_timer(5.0, self.start_collector)
        early, self._early = self._early, None
        if early is not None and early.settings is self.settings:
            # Started by the CLI before Textual was imported: its first snapshot is usually here already,
            # and applied now it is in the first frame (posted, it would wait for the next one, ~16 ms).
            self.poller = early.take(self._from_poller, held_now=self._apply_now)
        else:
            self.poller = self._poller_factory(self.settings, self._from_poller)
            self.poller.start()
        self.add_mode("jobs", JobsScreen)
        apply_no_color(self)  # NO_COLOR: failures stay the most visible text (widgets/no_color.py)
        if self.settings.keys:
            self.set_keymap(dict(self.settings.keys))
        self._sync_alerter()
        self.screen_change_signal.subscribe(self, self._screen_changed)

    def _apply_now(self, snapshot: Snapshot) -> None:
        self.on_snapshot_updated(SnapshotUpdated(snapshot))

    def get_default_screen(self) -> Screen:
        return JobsScreen()

    def _from_poller(self, snapshot: Snapshot) -> None:
        # Called on the poller's thread: post_message is thread-safe.
        self.post_message(SnapshotUpdated(snapshot))

    def start_collector(self) -> None:
        """End the CLI's start-up hold on the garbage collector, once (tuning.py). A flag, not
        gc.isenabled(): the poller pauses the collector around each JSON decode."""
        if self._collector_held:
            self._collector_held = False
            release_start_up_hold()

    def on_snapshot_updated(self, message: SnapshotUpdated) -> None:
        if message.snapshot.rows and self._collector_held:
            self.call_after_refresh(self.start_collector)
        snap = message.snapshot
        painted = snap.rows or snap.nomad.ok_at or snap.nomad.error
        if not self._told_first_paint and self.poller is not None and painted:
            # After the first paint (or Nomad's answer with nothing to paint): Consul and the Nomad feeds
            # that paint did not need start now, no longer competing with it (issue 15).
            self._told_first_paint = True
            self.call_after_refresh(self.poller.first_paint_done)
        if not self._large_gc_thresholds:
            self._large_gc_thresholds = fit_thresholds(len(snap.rows))
        self.snapshot = message.snapshot
        if self.alerter is not None:
            self.alerter.on_snapshot(message.snapshot)
        # A modal on top hides the console: the screen below catches up when it resumes. A screen still
        # being mounted (the first snapshot can arrive first) shows app.snapshot when it resumes, too.
        # Not while shutting down either: the screens' widgets are being removed then (a snapshot that was
        # still queued found Job detail without its summary), and at the very end no screen is left.
        if not self.is_running or not self.screen_stack:
            return
        screen = self.screen
        if isinstance(screen, ConsoleScreen) and screen.is_mounted:
            screen.receive(message.snapshot)

    def report_crash(self) -> None:
        # Textual's own crash report prints every local variable, and a local job spec holds database
        # passwords: log the traceback (redacted, to the log file) and print one redacted line instead.
        log.exception("dtle-tui crashed")
        error = sys.exc_info()[1]
        self.bell()
        exit_printing(self, Text(redact(f"dtle-tui crashed: {error!r}. Details in {self.settings.log_file}")))

    async def action_quit(self) -> None:
        self.exit(0)

    def on_unmount(self) -> None:
        if self.poller is not None:
            self.poller.stop()

    # ---- toasts: never over a dialog, dismissed by a key --------------------------------------------
    def notify(self, message: str, *, title: str = "", severity: Any = "information",
               timeout: Optional[float] = None, markup: bool = True) -> None:
        seconds = self.NOTIFICATION_TIMEOUT if timeout is None else timeout
        if title:
            message = f"{title}: {message}"
        if self._dialog_open():
            self._waiting_toasts.append((message, severity, seconds, markup))
            return
        super().notify(message, severity=severity, timeout=seconds, markup=markup)
        # The footer offers ctrl+l while a toast is up (once the toast is held: notify posts it), and no
        # longer once it has gone. Posted, as notify itself is: it may be called from another thread.
        self.call_after_refresh(self._toast_shown, seconds)

    def _toast_shown(self, seconds: float) -> None:
        self._refresh_footer()
        self.set_timer(seconds + 0.1, self._refresh_footer)

    def _refresh_footer(self) -> None:
        """The footer's keys again, when there is still a screen: the toast's timer may end after the last
        screen has gone (the app quitting), and the app's refresh_bindings reads the current screen."""
        if self.screen_stack:
            self.refresh_bindings()

    def _dialog_open(self) -> bool:
        return bool(self.screen_stack) and isinstance(self.screen, ModalScreen)

    def _screen_changed(self, screen: Screen) -> None:
        if isinstance(screen, ModalScreen):
            # The toasts up now would be drawn over the dialog: they wait, with the time they had left.
            shown = [n for n in held_notifications(self) if not n.has_expired]
            if shown:
                self._waiting_toasts[:0] = [(n.message, n.severity, max(3.0, n.time_left), n.markup) for n in shown]
                self.clear_notifications()
            for below in self.screen_stack[:-1]:  # their toasts would still show around the dialog
                for rack in below.query("#textual-toastrack"):
                    rack.display = False
        elif self._waiting_toasts:
            waiting, self._waiting_toasts = self._waiting_toasts, []
            for message, severity, seconds, markup in waiting:
                self.notify(message, severity=severity, timeout=seconds, markup=markup)

    def action_dismiss_toasts(self) -> None:
        self.clear_notifications()
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple) -> Optional[bool]:
        if action == "dismiss_toasts":
            return any(not n.has_expired for n in held_notifications(self))
        # `1` on the Jobs screen itself does nothing: keep its footer room for keys that do.
        if action == "switch_to" and parameters and parameters[0] == self.current_mode \
                and len(self.screen_stack) <= 1:
            return False
        return True

    # ---- navigation -----------------------------------------------------------------------------
    def action_switch_to(self, mode: str) -> None:
        self.switch_to(mode)

    def switch_to(self, mode: str) -> None:
        if isinstance(self.screen, ModalScreen):
            return
        if mode != "jobs" and mode not in self.MODES:
            self.notify(f"The {mode} screen is not available in this build.", severity="warning")
            return
        if self.current_mode != mode:
            self.switch_mode(mode)
        else:
            # The key of the screen already in front, pressed on something opened from it (Job detail,
            # Allocation, Logs): back to the list itself, as the key's name says.
            while len(self.screen_stack) > 1:
                self.pop_screen()
        self.call_after_refresh(self._sync_watches)

    def open_job(self, job_id: str) -> None:
        if self.poller:
            self.poller.watch_job(job_id)
        self.push_screen(later("job_detail")(job_id))

    def open_allocation(self, alloc_id: str) -> None:
        if self.poller:
            self.poller.watch_allocation(alloc_id)
        self.push_screen(later("allocation")(alloc_id))

    def open_node(self, node_id: str) -> None:
        if self.poller:
            self.poller.watch_node(node_id)
        self.push_screen(later("node_detail")(node_id))

    def go_back(self) -> None:
        if len(self.screen_stack) > 1:
            self.pop_screen()
        self.call_after_refresh(self._sync_watches)

    def _sync_watches(self) -> None:
        """Fetch only what an open detail screen needs (lazy detail fetches)."""
        if self.poller is None:
            return
        job = next((s.job_id for s in self.screen_stack if isinstance(s, later("job_detail"))), None)
        alloc = next((s.alloc_id for s in self.screen_stack if isinstance(s, later("allocation"))), None)
        node = next((s.node_id for s in self.screen_stack if isinstance(s, later("node_detail"))), None)
        self.poller.watch_job(job)
        self.poller.watch_allocation(alloc)
        self.poller.watch_node(node)

    def follow_allocation(self, alloc_id: str) -> None:
        if self.poller:
            self.poller.watch_allocation(alloc_id)

    def watch_dtle_rows(self, job_ids: tuple) -> None:
        if self.poller:
            self.poller.watch_dtle_rows(job_ids)

    # ---- intents of the screens (console.Console) ---------------------------------------------------
    def refresh_data(self) -> None:
        if self.poller:
            self.poller.refresh_now()

    def write(self, name: str, screen: Screen) -> None:
        if self._writes is None:
            self._writes = later("writes")(self)
        self._writes.start(name, screen)

    def tail(self, alloc_id: str, task: str, log_type: str, max_lines: int,
             on_lines: Callable[[list, int], None], on_state: Callable[[TailState], None]) -> Optional[TailHandle]:
        return later("tail")(self.poller, alloc_id, task, log_type, max_lines, on_lines, on_state)

    # ---- global actions ---------------------------------------------------------------------------
    def action_refresh_now(self) -> None:
        if self.poller:
            self.poller.refresh_now()
        self.notify("Refreshing…", timeout=1.5)

    def action_help(self) -> None:
        help_screen = later("help")
        if not isinstance(self.screen, help_screen):
            self.push_screen(help_screen.of(self, self.screen, dict(self.settings.keys), self.settings.read_only))

    def action_pick_context(self) -> None:
        if isinstance(self.screen, ModalScreen):
            return
        try:
            found = contexts(self.settings)
        except ConfigError as exc:
            self.notify(str(exc), severity="error", markup=False)
            return
        self.push_screen(later("contexts")(found, self.settings.context), self._context_chosen)

    def _context_chosen(self, name: Optional[str]) -> None:
        if name and name != self.settings.context:
            self.switch_context(name)

    def switch_context(self, name: str) -> None:
        """Point the whole console at another cluster: new settings, a new poller, no stale rows."""
        try:
            settings = settings_for_context(self.settings, name)
            check_tls_files(settings)
        except ConfigError as exc:
            self.notify(str(exc), severity="error", markup=False)
            return
        old = self.poller
        self.settings = settings
        self.poller = self._poller_factory(settings, self._from_poller)
        if old is not None:
            # Stopping joins the old poller's thread: not on the UI's event loop.
            threading.Thread(target=old.stop, name="dtle-tui-old-poller", daemon=True).start()
        while len(self.screen_stack) > 1:  # a detail screen of the old cluster means nothing now
            self.pop_screen()
        self.snapshot = Snapshot(namespace=settings.nomad.namespace or "default")
        if isinstance(self.screen, ConsoleScreen):
            self.screen.receive(self.snapshot)
        if settings.theme in BUILTIN_THEMES:
            self.theme = settings.theme
        self.set_keymap(dict(settings.keys))  # the file may have been edited since start-up
        self._sync_alerter()
        self.poller.start()
        self.notify(f"Switched to context {name}: {settings.nomad.addr}", markup=False)

    def _sync_alerter(self) -> None:
        """Alerts only with --notify (config `notify`, per context): without it no Alerter exists, so
        nothing of them is ever written to the terminal. A new cluster starts a new watch."""
        if not self.settings.notify:
            if self.alerter is not None:
                self.alerter.reset()  # stops a release of held alerts still pending
            self.alerter = None
        elif self.alerter is None:
            self.alerter = later("alerter")(self)
        else:
            self.alerter.reset()

    # ---- the key table (keys.py): every class with keys, loaded from LATER -------------------------------
    @classmethod
    def console_screen_classes(cls) -> list[type]:
        return [JobsScreen if name == "jobs" else later(name) for name in CONSOLE_SCREENS]

    @classmethod
    def table_classes(cls) -> list[type]:
        return [VirtualTable, later("keyed_table")]

    @classmethod
    def binding_classes(cls) -> list[type]:
        """The app, its screens, dialogs and tables: every class whose keys [keys] may remap."""
        return [cls, *cls.console_screen_classes(), *(later(name) for name in MODAL_SCREENS), *cls.table_classes()]

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """The palette: the screen's keys and the app's, from their bindings, then Textual's commands."""
        keymap = dict(self.settings.keys)
        if isinstance(screen, ConsoleScreen):
            yield from palette_commands(self, screen, remapped(bindings_of(type(screen)), keymap), screen.KEYS_TITLE)
        yield from palette_commands(self, self, remapped(bindings_of(type(self)), keymap), "anywhere")
        yield from super().get_system_commands(screen)


def run_app(settings: Settings, early: Optional[EarlyPoller] = None) -> int:
    if settings.theme and settings.theme not in BUILTIN_THEMES:
        names = ", ".join(sorted(BUILTIN_THEMES))
        print(f"dtle-tui: error: unknown theme {settings.theme!r} (one of: {names})", file=sys.stderr)
        return 2
    app = DtleApp(settings, early=early, collector_held=held_at_start_up())
    result = app.run()
    return int(result or 0) if isinstance(result, int) else 0
