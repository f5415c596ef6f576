"""The App: modes (Jobs, Nodes, Orphans), global keys, theme, and routing of poller snapshots."""

from __future__ import annotations

import gc
import importlib
import logging
import pkgutil
import sys
import threading
from typing import TYPE_CHECKING, Iterable, Optional

from rich.text import Text
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.theme import BUILTIN_THEMES

from dtle_tui.api.errors import redact
from dtle_tui.api.http import check_tls_files
from dtle_tui.config.settings import ConfigError, Settings, contexts, settings_for_context
from dtle_tui.live.poller import Poller
from dtle_tui.live.snapshot import Snapshot
from dtle_tui.screens.base import ConsoleScreen
from dtle_tui.screens.jobs import JobsScreen

if TYPE_CHECKING:
    from dtle_tui.live.startup import EarlyPoller

log = logging.getLogger(__name__)


# From this many jobs on the collector runs less often (DtleApp._fit_gc_thresholds).
LARGE_CLUSTER_JOBS = 1000


def _screen(module: str, name: str) -> type:
    """A screen class from dtle_tui.screens.<module>, imported on first use."""
    return getattr(importlib.import_module(f"dtle_tui.screens.{module}"), name)


class SnapshotUpdated(Message):
    """New data from the poller. A newer one replaces an older one still in the queue."""

    def __init__(self, snapshot: Snapshot) -> None:
        super().__init__()
        self.snapshot = snapshot

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, SnapshotUpdated)


class DtleApp(App):
    # Read through the package loader, not a file path, so the styles load from inside the .pyz too.
    CSS = (pkgutil.get_data("dtle_tui", "dtle_tui.tcss") or b"").decode("utf-8")
    TITLE = "dtle-tui"
    # Jobs is the first screen (get_default_screen), not a mode switched to from on_mount: a mode
    # switch re-parses every stylesheet twice and holds repaints for 50 ms (Textual's delay_update),
    # all before the first paint. It is registered as a mode in on_mount, so `1` comes back to it.
    DEFAULT_MODE = "jobs"
    # Screens other than Jobs are imported when first shown: the first paint of the job list does not
    # wait for them.
    MODES = {
        "nodes": lambda: _screen("nodes", "NodesScreen")(),
        "orphans": lambda: _screen("orphans", "OrphansScreen")(),
    }

    BINDINGS = [
        Binding("1", "switch_to('jobs')", "Jobs", id="app.jobs"),
        Binding("2", "switch_to('nodes')", "Nodes", id="app.nodes"),
        Binding("3", "switch_to('orphans')", "Orphans", show=False, id="app.orphans"),
        Binding("ctrl+r", "refresh_now", "Refresh", id="app.refresh"),
        Binding("C", "pick_context", "Context", show=False, id="app.context"),
        Binding("question_mark", "help", "Help", id="app.help"),
        Binding("q", "quit", "Quit", id="app.quit"),
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
        self._consul_asked = False
        if settings.theme in BUILTIN_THEMES:
            self.theme = settings.theme

    # ---- lifecycle ------------------------------------------------------------------------------
    def on_mount(self) -> None:
        # The CLI holds the collector off during start-up; back on after the first rows are painted, or
        # after a while when none come (an unreachable cluster).
        self.set_timer(5.0, self.start_collector)
        early, self._early = self._early, None
        if early is not None and early.settings is self.settings:
            self.poller = early.take(self._from_poller)  # started by the CLI before Textual was imported
        else:
            self.poller = self._poller_factory(self.settings, self._from_poller)
            self.poller.start()
        self.add_mode("jobs", JobsScreen)

    def get_default_screen(self) -> Screen:
        return JobsScreen()

    def _from_poller(self, snapshot: Snapshot) -> None:
        # Called on the poller's thread: post_message is thread-safe.
        self.post_message(SnapshotUpdated(snapshot))

    def start_collector(self) -> None:
        """Turn the garbage collector back on after start-up (cli.main turned it off); once.

        What start-up created (modules, classes, this screen's widgets) lives until exit: frozen, it is
        never walked again by a collection (gc.freeze), so neither the first collection after the paint
        nor every full one later pays for it. A flag, not gc.isenabled(): the poller pauses the collector
        around each JSON decode."""
        if self._collector_held:
            self._collector_held = False
            gc.freeze()
            gc.enable()

    def _fit_gc_thresholds(self, snapshot: Snapshot) -> None:
        """A large cluster keeps hundreds of thousands of long-lived objects (allocations, rows): with
        Python's default thresholds the collector keeps re-walking them while a refresh allocates. A small
        one keeps the defaults: the garbage of its finished requests (reference cycles through asyncio's
        futures and frames, promoted while a blocking query was held) is then freed within seconds, not
        minutes (soak at 12 jobs: RSS +1.6 MB in 4 minutes instead of +2.7 MB)."""
        if not self._large_gc_thresholds and len(snapshot.rows) >= LARGE_CLUSTER_JOBS:
            self._large_gc_thresholds = True
            gc.set_threshold(10_000, 10, 10)

    def on_snapshot_updated(self, message: SnapshotUpdated) -> None:
        if message.snapshot.rows and self._collector_held:
            self.call_after_refresh(self.start_collector)
        snap = message.snapshot
        if not self._consul_asked and self.poller is not None and (snap.rows or snap.nomad.ok_at or snap.nomad.error):
            # After the first paint (or Nomad's answer with nothing to paint): Consul starts now, its
            # imports no longer competing with the first paint (issue 15).
            self._consul_asked = True
            self.call_after_refresh(self.poller.start_consul)
        self._fit_gc_thresholds(message.snapshot)
        self.snapshot = message.snapshot
        screen = self.screen
        # A modal on top hides the console: the screen below catches up when it resumes. A screen still
        # being mounted (the first snapshot can arrive first) shows app.snapshot when it resumes, too.
        if isinstance(screen, ConsoleScreen) and screen.is_mounted:
            screen.receive(message.snapshot)

    def _fatal_error(self) -> None:
        # Textual's own crash report prints every local variable, and a local job spec holds database
        # passwords: log the traceback (redacted, to the log file) and print one redacted line instead.
        log.exception("dtle-tui crashed")
        error = sys.exc_info()[1]
        self.bell()
        self._exit_renderables.append(
            Text(redact(f"dtle-tui crashed: {error!r}. Details in {self.settings.log_file}"))
        )
        self._close_messages_no_wait()

    async def action_quit(self) -> None:
        self.exit(0)

    def on_unmount(self) -> None:
        if self.poller is not None:
            self.poller.stop()

    def check_action(self, action: str, parameters: tuple) -> Optional[bool]:
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
        if mode not in self._modes:
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
        self.push_screen(_screen("job_detail", "JobDetailScreen")(job_id))

    def open_allocation(self, alloc_id: str) -> None:
        if self.poller:
            self.poller.watch_allocation(alloc_id)
        self.push_screen(_screen("allocation", "AllocationScreen")(alloc_id))

    def go_back(self) -> None:
        if len(self.screen_stack) > 1:
            self.pop_screen()
        self.call_after_refresh(self._sync_watches)

    def _sync_watches(self) -> None:
        """Fetch only what an open detail screen needs (lazy detail fetches)."""
        if self.poller is None:
            return
        detail, allocation = _screen("job_detail", "JobDetailScreen"), _screen("allocation", "AllocationScreen")
        job = next((s.job_id for s in self.screen_stack if isinstance(s, detail)), None)
        alloc = next((s.alloc_id for s in self.screen_stack if isinstance(s, allocation)), None)
        self.poller.watch_job(job)
        self.poller.watch_allocation(alloc)

    # ---- global actions ---------------------------------------------------------------------------
    def action_refresh_now(self) -> None:
        if self.poller:
            self.poller.refresh_now()
        self.notify("Refreshing…", timeout=1.5)

    def action_help(self) -> None:
        help_screen = _screen("help", "HelpScreen")
        if not isinstance(self.screen, help_screen):
            self.push_screen(help_screen(self.settings.read_only))

    def action_pick_context(self) -> None:
        if isinstance(self.screen, ModalScreen):
            return
        try:
            found = contexts(self.settings)
        except ConfigError as exc:
            self.notify(str(exc), severity="error", markup=False)
            return
        self.push_screen(_screen("contexts", "ContextsScreen")(found, self.settings.context), self._context_chosen)

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
        self.poller.start()
        self.notify(f"Switched to context {name}: {settings.nomad.addr}", markup=False)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield SystemCommand("Jobs", "Show the Jobs screen (1)", lambda: self.switch_to("jobs"))
        yield SystemCommand("Nodes", "Show the Nodes screen (2)", lambda: self.switch_to("nodes"))
        yield SystemCommand("Orphans", "Consul keys without a job (3)", lambda: self.switch_to("orphans"))
        yield SystemCommand("Refresh now", "Poll Nomad and Consul at once (ctrl+r)", self.action_refresh_now)
        yield SystemCommand("Help", "Every key (?)", self.action_help)
        yield SystemCommand("Switch context", "Another cluster of the config file (C)", self.action_pick_context)
        if isinstance(screen, ConsoleScreen):
            yield from screen.palette_commands()
        yield from super().get_system_commands(screen)


def run_app(settings: Settings, early: Optional[EarlyPoller] = None) -> int:
    if settings.theme and settings.theme not in BUILTIN_THEMES:
        names = ", ".join(sorted(BUILTIN_THEMES))
        print(f"dtle-tui: error: unknown theme {settings.theme!r} (one of: {names})", file=sys.stderr)
        return 2
    app = DtleApp(settings, early=early, collector_held=not gc.isenabled())
    result = app.run()
    return int(result or 0) if isinstance(result, int) else 0
