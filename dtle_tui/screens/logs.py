"""Task logs of one allocation, following live, with search, pause and wrap: dtle's own lines for a dtle
task, stdout/stderr for a task of any other driver.

A dtle task writes nothing to its stdout or stderr (docs/reference/real-dtle.md §2): its lines are in the
Nomad agent's log of its node, which Nomad streams live only (live/agentlogs.py); `d` switches between
info and debug. The screen knows a task's driver from the open job's spec; when it does not, it asks for
dtle's lines and the tail, having read the allocation, says when the task is of another driver.

The tail (live/logtail.py, live/agentlogs.py) runs on the poller's loop with the poller's Nomad client (the console's
`tail` intent), so this screen never calls the API itself; its callbacks run on the poller thread and
reach the UI as messages (`post_message` is thread-safe and, unlike `call_from_thread`, never blocks
the poller's feeds).

Everything from the wire is plain text: lines go through `safe_text` (no ANSI, no control characters)
into a `Log` widget, which renders text, never markup. The lines themselves are kept in a LogBook; the
Log shows them as they are, or wrapped (`w`) to its width, each continuation row marked. `End` jumps to
the newest line and follows, `Home` to the oldest kept.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional, Sequence

from rich.highlighter import Highlighter
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import Input, Log, Static

from dtle_tui.live.logtail import TailState
from dtle_tui.model.allocations import failed_task
from dtle_tui.screens.base import ConsoleScreen
from dtle_tui.text.textsafe import safe_text
from dtle_tui.widgets.log_book import LogBook

if TYPE_CHECKING:
    from dtle_tui.console import TailHandle

DEFAULT_LOG_LINES = 10000
# Reverse, not a colour pair: "black on yellow" is black on black in greys on a light theme (NO_COLOR).
MATCH_STYLE = "bold reverse"


class LogLines(Message):
    """New lines from a tail; `generation` tells lines of a replaced tail from current ones."""

    def __init__(self, generation: int, lines: list, dropped: int) -> None:
        super().__init__()
        self.generation = generation
        self.lines = lines
        self.dropped = dropped


class TailStateChanged(Message):
    def __init__(self, generation: int, state: TailState) -> None:
        super().__init__()
        self.generation = generation
        self.state = state

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, TailStateChanged) and message.generation == self.generation


class SearchHighlighter(Highlighter):
    """Highlights every case-insensitive occurrence of the search term."""

    def __init__(self, term: str) -> None:
        self.term = term.lower()

    def highlight(self, text: Text) -> None:
        if not self.term:
            return
        plain = text.plain.lower()
        start = plain.find(self.term)
        while start >= 0:
            text.stylize(MATCH_STYLE, start, start + len(self.term))
            start = plain.find(self.term, start + len(self.term))


def tasks_of(alloc: Any) -> list:
    """Task names of an allocation; dtle names each group's single task after the group (dtle.md §1)."""
    names = [t.name for t in getattr(alloc, "task_states", ()) if getattr(t, "name", "")]
    return names or [alloc.task_group]


class LogsScreen(ConsoleScreen):
    TITLE_TEXT = "logs"

    KEYS_TITLE = "Logs"

    BINDINGS = [
        Binding("escape", "back", "Back", tooltip="back (closes the search box first)", id="dtle.logs.back"),
        Binding("tab", "toggle_stream", "stdout/stderr", priority=True, tooltip="stdout / stderr",
                id="dtle.logs.toggle_stream"),
        Binding("d", "toggle_level", "Debug/info", tooltip="dtle's log: debug lines too, or info and above",
                id="dtle.logs.level"),
        Binding("t", "next_task", "Next task", tooltip="next task of the allocation", id="dtle.logs.next_task"),
        Binding("space", "toggle_pause", "Pause/follow", tooltip="pause / follow", id="dtle.logs.pause"),
        Binding("slash", "search", "Search", tooltip="search the log", id="dtle.logs.search"),
        Binding("w", "toggle_wrap", "Wrap", tooltip="wrap long lines / cut them at the edge", id="dtle.logs.wrap"),
        # Priority: the log itself scrolls on home/end, without following; check_action leaves them to the
        # search box while it is open.
        Binding("end", "end", "End", show=False, priority=True, tooltip="jump to the newest line and follow",
                id="dtle.logs.end"),
        Binding("home", "home", "Home", show=False, priority=True, tooltip="jump to the oldest line kept",
                id="dtle.logs.home"),
        Binding("n", "next_match", "Next match", tooltip="next match", id="dtle.logs.next_match"),
        Binding("N", "previous_match", "Prev match", tooltip="previous match", id="dtle.logs.previous_match"),
    ]

    def __init__(self, alloc_id: str, task_names: Sequence[str], job_id: str = "", log_type: str = "stdout",
                 task: Optional[str] = None) -> None:
        super().__init__()
        self.alloc_id = alloc_id
        self.job_id = job_id
        self.task_names = list(task_names) or ["dest"]
        # A task that last exited non-zero opens on the stream that failed (stderr; dtle.md §6).
        self.task_name = task if task in self.task_names else self.task_names[0]
        self.log_type = log_type if log_type in ("stdout", "stderr") else "stdout"
        self.dtle = True  # dtle's lines (the agent's log) or stdout/stderr: decided on mount (_pick_source)
        self.level = "info"
        self.paused = False
        self.wrap = False
        self._wrapped_width = 0
        self.search_term = ""
        self.current_match: Optional[int] = None  # line index of the match shown
        self.tail: Optional[TailHandle] = None
        self._generation = 0
        self._state = TailState()
        self.book = LogBook(DEFAULT_LOG_LINES)

    @classmethod
    def for_allocation(cls, alloc: Any) -> LogsScreen:
        """The screen for an `models.Allocation` (what Job detail has under its cursor)."""
        failed = failed_task(alloc)
        return cls(alloc.id, tasks_of(alloc), alloc.job_id, "stderr" if failed else "stdout", failed)

    # ---- layout ---------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield from self.compose_banner()
        yield Static("", id="logs-header", markup=False)
        yield Static("", id="logs-note", markup=False, classes="hidden")
        yield Log(max_lines=self.max_lines, auto_scroll=True, id="log")
        yield Input(placeholder="search (enter: find, escape: close)", id="log-search", classes="hidden")
        yield from self.compose_status()

    @property
    def max_lines(self) -> int:
        return int(self.console.settings.log_lines or DEFAULT_LOG_LINES)

    @property
    def log_widget(self) -> Log:
        return self.query_one("#log", Log)

    def on_mount(self) -> None:
        super().on_mount()
        self.book = LogBook(self.max_lines)
        self.log_widget.focus()
        self._pick_source()
        self._start_tail()

    def on_unmount(self) -> None:
        self._stop_tail()

    # ---- the tail -------------------------------------------------------------------------------
    def _known_driver(self) -> str:
        """The task's driver from the open job's spec (Job detail's), "" when the console has not read it."""
        snapshot = self.console.snapshot
        detail = getattr(snapshot, "detail", None)
        job = detail.job if detail is not None and detail.job_id == self.job_id else None
        if job is None:
            return ""
        return next((t.driver for g in job.task_groups for t in g.tasks if t.name == self.task_name), "")

    def _pick_source(self) -> None:
        self.dtle = self._known_driver() in ("", "dtle")  # unknown: dtle's lines; the tail corrects it

    def _start_tail(self) -> None:
        self._stop_tail()
        self._generation += 1
        generation = self._generation
        self.log_widget.clear()
        self.book.clear()
        self.current_match = None
        self.paused = False  # a new stream starts following
        self.tail = self.console.tail(
            self.alloc_id,
            self.task_name,
            f"dtle:{self.level}" if self.dtle else self.log_type,
            self.max_lines,
            on_lines=lambda lines, dropped: self.post_message(LogLines(generation, lines, dropped)),
            on_state=lambda state: self.post_message(TailStateChanged(generation, state)),
        )
        if self.tail is None:
            retry = "d" if self.dtle else "tab"
            self._show_state(TailState(False, f"not connected to Nomad yet; press {retry} to retry", final=True))
            return
        self._show_state(TailState())

    def _stop_tail(self) -> None:
        if self.tail is not None:
            self.tail.cancel()
        self.tail = None

    def on_log_lines(self, message: LogLines) -> None:
        if message.generation != self._generation:
            return
        lines = [f"[… {message.dropped} lines not shown: more than {self.max_lines} arrived at once]"] \
            if message.dropped else []
        for line in message.lines:
            lines.extend(safe_text(line).splitlines())  # as Log splits them: one line, one index
        self.log_widget.write_lines(self.book.add(lines, self._wrapped_width))
        if self.book.stale > max(500, self.max_lines // 10):
            self._rebuild()  # the wrapped view drops the rows of the lines the book dropped
        self._show_header()

    def on_tail_state_changed(self, message: TailStateChanged) -> None:
        if message.generation != self._generation:
            return
        if self.dtle and message.state.driver not in ("", "dtle"):
            self.dtle = False  # a task of another driver writes its own stdout and stderr
            self._start_tail()
            self.refresh_bindings()
            return
        self._show_state(message.state)

    def _show_state(self, state: TailState) -> None:
        self._state = state
        self._show_header()

    def _show_note(self) -> None:
        """dtle mode: why these lines and not stdout/stderr, and when a task between restarts writes next,
        or why the tail stopped (wrapped here: a refusal names its capability at its end)."""
        note = self.query_one("#logs-note", Static)
        note.set_class(not self.dtle, "hidden")
        if not self.dtle:
            note.update("")
            return
        out = Text()
        out.append("dtle writes no stdout/stderr: its lines from the Nomad agent's log, live only", style="dim")
        if self._state.final:
            out.append("\n")
            out.append(safe_text(self._state.message, max_len=200), style="bold red")
        elif self._state.note:
            out.append("\n")
            out.append(safe_text(self._state.note, max_len=200), style="bold yellow")
        if out.plain != str(note.content):
            # The note's height may change, and the log's with it: a log that showed its newest line
            # still does (else the newest line hides below the edge).
            log = self.log_widget
            if log.is_vertical_scroll_end and not self.paused:
                self.call_after_refresh(log.scroll_end, animate=False, immediate=True)
            note.update(out)

    def _show_header(self) -> None:
        try:
            self._show_note()
        except Exception:  # not mounted (yet, or any more)
            pass
        out = Text()
        if self.dtle:
            out.append("dtle log", style="bold")
            out.append(f"  {self.level}", style="bold reverse" if self.level == "debug" else "bold")
        else:
            out.append(self.log_type, style="bold reverse" if self.log_type == "stderr" else "bold")
        out.append("  task ")
        out.append(safe_text(self.task_name), style="bold")
        if len(self.task_names) > 1:
            out.append(f" ({self.task_names.index(self.task_name) + 1}/{len(self.task_names)})")
        out.append("  ")
        if self.paused:
            out.append("PAUSED (space: follow)", style="bold yellow")
        elif self._state.following:
            out.append("following", style="green")
        elif self.dtle and self._state.final:
            out.append("stopped", style="red")  # why: on the note's line below
        else:
            style = "red" if self._state.final else "yellow"
            out.append(safe_text(self._state.message, max_len=120), style=style)
        if self.wrap:
            out.append("  wrap", style="bold")
        if self.search_term:
            matches = self.matches()
            where = ""
            if self.current_match is not None and self.current_match in matches:
                where = f"{matches.index(self.current_match) + 1}/"
            out.append(f"  /{safe_text(self.search_term, max_len=30)}: {where}{len(matches)} matches")
        out.append(f"  alloc {self.alloc_id[:8]}", style="dim")
        if self.job_id:
            out.append(f"  job {safe_text(self.job_id, max_len=40)}", style="dim")
        try:
            self.query_one("#logs-header", Static).update(out)
        except Exception:  # not mounted (yet, or any more)
            pass

    def check_action(self, action: str, parameters: tuple) -> Optional[bool]:
        if action == "next_task" and len(self.task_names) < 2:
            return False  # hidden from the footer: nothing to cycle
        if action == "toggle_stream" and self.dtle:
            return False  # dtle writes no stdout/stderr
        if action == "toggle_level" and not self.dtle:
            return False
        if action in ("next_match", "previous_match") and not self.search_term:
            return False
        if action in ("home", "end") and self.query_one("#log-search", Input).has_focus:
            return False  # the search box's own home / end
        return True

    # ---- actions --------------------------------------------------------------------------------
    def action_back(self) -> None:
        search = self.query_one("#log-search", Input)
        if not search.has_class("hidden"):
            self._close_search()
            return
        self.console.go_back()

    def action_toggle_stream(self) -> None:
        self.log_type = "stderr" if self.log_type == "stdout" else "stdout"
        self._start_tail()

    def action_toggle_level(self) -> None:
        """dtle's log from info up, or from debug up (the stream is asked again at the new level)."""
        self.level = "info" if self.level == "debug" else "debug"
        self._start_tail()

    def action_next_task(self) -> None:
        if len(self.task_names) < 2:
            self.flash("This allocation has a single task.")
            return
        self.task_name = self.task_names[(self.task_names.index(self.task_name) + 1) % len(self.task_names)]
        self._pick_source()
        self._start_tail()
        self.refresh_bindings()

    def action_toggle_pause(self) -> None:
        """Pause: the tail keeps reading into its ring buffer, the view stops moving; resume shows
        what arrived meanwhile (at most log_lines lines) and follows again."""
        self.paused = not self.paused
        tail = self.tail
        if self.paused:
            if tail is not None:
                tail.pause()
        else:
            if tail is not None:
                tail.resume()
            self.log_widget.scroll_end(animate=False)
        self._show_header()

    def action_end(self) -> None:
        """The newest line, following again (a pause ends: what arrived meanwhile is shown)."""
        if self.paused:
            self.action_toggle_pause()
        else:
            self.log_widget.scroll_end(animate=False, immediate=True)

    def action_home(self) -> None:
        self.log_widget.scroll_home(animate=False, immediate=True)

    def action_toggle_wrap(self) -> None:
        self.wrap = not self.wrap
        self._rebuild()
        self._show_header()

    def on_resize(self) -> None:
        if self.wrap:
            self.call_after_refresh(self._rewrap)

    def _rewrap(self) -> None:
        if self.wrap and self._wrap_width() != self._wrapped_width:
            self._rebuild()

    def _wrap_width(self) -> int:
        log = self.log_widget
        return log.scrollable_content_region.width or max(20, self.app.size.width - 2)

    def _rebuild(self) -> None:
        """The view again from the book, wrapped or not, the same line at the top (or following)."""
        log = self.log_widget
        following = log.is_vertical_scroll_end
        top = self.book.line_at(round(log.scroll_y))
        self._wrapped_width = self._wrap_width() if self.wrap else 0
        log.clear()
        log.max_lines = None if self.wrap else self.max_lines
        log.write_lines(self.book.all_rows(self._wrapped_width), scroll_end=False)
        if following:
            log.scroll_end(animate=False, immediate=True)
        else:
            log.scroll_to(y=self.book.row_of(top), animate=False, immediate=True)

    def action_search(self) -> None:
        search = self.query_one("#log-search", Input)
        search.remove_class("hidden")
        search.value = self.search_term
        search.focus()

    def _close_search(self) -> None:
        self.query_one("#log-search", Input).add_class("hidden")
        self.log_widget.focus()

    @on(Input.Submitted, "#log-search")
    def _search_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.search_term = event.value.strip()
        log = self.log_widget
        log.highlight = bool(self.search_term)
        log.highlighter = SearchHighlighter(self.search_term)
        log.notify_style_update()  # drops the rendered-line cache, so old highlights go
        log.refresh()
        self._close_search()
        self.refresh_bindings()
        self.current_match = None
        if self.search_term:
            self._jump(backwards=True)  # the newest match first: newest lines are at the bottom
        self._show_header()

    def matches(self) -> list:
        term = self.search_term.lower()
        if not term:
            return []
        return [i for i, line in enumerate(self.book.lines) if term in line.lower()]

    def action_next_match(self) -> None:
        self._jump(backwards=False)

    def action_previous_match(self) -> None:
        self._jump(backwards=True)

    def _jump(self, backwards: bool) -> None:
        matches = self.matches()
        if not matches:
            if self.search_term:
                self.flash(f"No line contains {safe_text(self.search_term, max_len=40)!r}.", "warning")
            self._show_header()
            return
        here = self.current_match
        if here is None:
            target = matches[-1] if backwards else matches[0]
        elif backwards:
            earlier = [i for i in matches if i < here]
            target = earlier[-1] if earlier else matches[-1]
        else:
            later = [i for i in matches if i > here]
            target = later[0] if later else matches[0]
        self.current_match = target
        log = self.log_widget
        log.scroll_to(y=max(0, self.book.row_of(target) - log.size.height // 2), animate=False, immediate=True)
        self._show_header()
