"""One loop per endpoint: blocking queries when the server holds them, the fallback interval otherwise.

Each endpoint has exactly one feed, so there is never more than one request in flight per endpoint, and
a slow answer is never cancelled by a timer tick (the trap of a request started by `set_interval` in an
exclusive worker: each tick cancels the one still waiting). Failures back off exponentially, capped at
BACKOFF_CAP_S. A feed knows the poller only through what it is given: `changed` (a snapshot is due) and,
for Nomad's lists, the event stream's gate (`StreamGate`), so that it rests while the stream covers its
list.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Awaitable, Callable, Dict, Optional, Protocol

from dtle_tui.api.errors import ApiError, ErrorKind
from dtle_tui.api.nomad import Indexed
from dtle_tui.live.snapshot import FeedState
from dtle_tui.model.wire import ParseError
from dtle_tui.text.secrets import redact
from dtle_tui.text.textsafe import safe_text, truncate

log = logging.getLogger(__name__)

Fetch = Callable[[int, Optional[str]], Awaitable[Indexed]]


class StreamGate(Protocol):
    """What a list feed reads of the event stream (eventfeed.EventFeed)."""

    changed: asyncio.Event  # set (and replaced) at every change of the stream's state

    @property
    def covers_lists(self) -> bool: ...

    def covers(self, name: str) -> bool: ...

    def poke(self) -> None: ...

    def refused(self) -> None: ...


BACKOFF_FIRST_S = 1.0
BACKOFF_CAP_S = 30.0  # module constants, read at each failure: tests patch them to stay fast
MIN_GAP_S = 0.3  # between two answers of one feed: a busy cluster must not turn blocking into a spin
BLOCK_WAIT = "60s"

def backoff_delay(failures: int) -> float:
    """Seconds to wait after the `failures`-th failure in a row: 1, 2, 4, … at most BACKOFF_CAP_S."""
    return min(BACKOFF_CAP_S, BACKOFF_FIRST_S * 2.0 ** max(0, min(failures - 1, 30)))


async def sleep_unless_woken(wake: asyncio.Event, seconds: float) -> None:
    """Wait `seconds`, or less if `wake` is set meanwhile (ctrl+r, a stop): the feeds' one way to pause."""
    wake.clear()
    try:
        await asyncio.wait_for(wake.wait(), timeout=seconds)
    except asyncio.TimeoutError:
        pass


class Feed:
    """One endpoint polled in one loop: blocking when the server blocks, else every `interval`."""

    def __init__(self, name: str, service: str, fetch: Fetch, on_data: Callable[[Any], None], *,
                 changed: Callable[[], None], refresh_s: float, stream: Optional[StreamGate] = None,
                 follows_stream: bool = False, on_reset: Optional[Callable[[Feed, int, int], None]] = None):
        self.changed = changed  # the poller's: a snapshot is due
        self.refresh_s = refresh_s  # the fallback interval for a server that does not block
        self.stream = stream
        self.name = name
        self.service = service
        self.fetch = fetch
        self.on_data = on_data
        self.follows_stream = follows_stream  # one of Nomad's lists: rests while the event stream is live
        self.index = 0
        self.read_index = 0  # X-Nomad-Index of the last answer (kept through failures: the stream resumes there)
        # What a reset is told against: the index of this query's own last answer. The event stream raises
        # `read_index` to its frames' indexes, which may be above what this query answers at the same
        # state (Nomad 1.1.2 answered a plain GET of /v1/allocations at N-1 after an Allocation event at
        # N, with no restart): a frame's index joins `own_index` only once the connection that brought it
        # has ended (eventfeed.py), as a restarted agent ends it.
        self.own_index = 0
        self.stream_index = 0  # the highest frame index of this list's topic on the current connection
        self.answer_index = 0  # the index of the answer being handled, for on_data
        # Called with (feed, before, after) when this query's index went backwards: the server's state
        # was reset (a restored snapshot, a rebuilt cluster at the same address), before the answer is used.
        self.on_reset = on_reset
        self.answered = False  # since the start or the last forget(): the event stream waits for it
        self.state = FeedState()
        self.wake = asyncio.Event()
        self.task: Optional[asyncio.Task] = None
        self._inflight: Optional[asyncio.Future] = None
        self._inflight_blocking = False
        self._force_read = False
        self._yielded = False
        self.blocking = False  # the server holds this feed's queries: a change comes back as it happens

    async def _rest_while_streaming(self) -> None:
        """While the event stream covers this list (or its first verdict is pending), do not read it."""
        events = self.stream
        # A failing feed keeps retrying: its error is on the status line until a read succeeds again.
        while (events is not None and self.read_index and events.covers(self.name) and not self._force_read
               and self.state.error is None):
            self.wake.clear()
            waits = [asyncio.ensure_future(self.wake.wait()), asyncio.ensure_future(events.changed.wait())]
            try:
                await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiter in waits:
                    waiter.cancel()

    def yield_to_stream(self) -> None:
        """The stream went live: end a held blocking query (its answer would re-read the whole list)."""
        if self._inflight is not None and self._inflight_blocking and not self._inflight.done():
            self._yielded = True
            self._inflight.cancel()

    async def run(self) -> None:
        blocking = True
        while True:
            if self.follows_stream:
                await self._rest_while_streaming()
            started = time.monotonic()
            wait = BLOCK_WAIT if (blocking and self.index and not self._force_read) else None
            self._force_read = False
            # The clients block whenever an index is given: a plain read passes none.
            self._inflight = asyncio.ensure_future(self.fetch(self.index if wait else 0, wait))
            self._inflight_blocking = wait is not None
            try:
                await asyncio.wait({self._inflight})
            except asyncio.CancelledError:  # the feed itself is stopped: take the request with it
                self._inflight.cancel()
                raise
            if self._inflight.cancelled():
                if self._yielded:  # the event stream took over
                    self._yielded = False
                    continue
                self.index = 0  # ctrl+r ended a held blocking query: read again at once
                continue
            try:
                result = self._inflight.result()
                # Drop the answer as soon as it is handled: held until the next answer it would double
                # the peak when the next arrives.
                self._inflight = None
                # Only this query's own earlier answer counts (each endpoint has its own, and an index the
                # event stream raised is not one this query saw), and an answer without one (0: a proxy,
                # or a 404 turned into data) proves nothing.
                if self.on_reset is not None and 0 < result.index < self.own_index:
                    self.on_reset(self, self.own_index, result.index)
                self.answer_index = result.index
                self.on_data(result.value)
                result_index = result.index
                del result
            except (ApiError, ParseError) as exc:
                if isinstance(exc, ApiError):
                    message = exc.one_line()
                else:
                    message = f"{self.service} sent an unexpected shape: {exc}"
                self._failed(message, refused=isinstance(exc, ApiError) and exc.kind is ErrorKind.FORBIDDEN)
                await self._sleep(backoff_delay(self.state.failures))
                continue
            except Exception as exc:  # a bug must not kill the feed: log it, show it, retry later
                log.exception("feed %s failed", self.name)
                self._failed(f"{self.service}: internal error: {type(exc).__name__}: {exc}")
                await self._sleep(backoff_delay(self.state.failures))
                continue
            elapsed = time.monotonic() - started
            previous = self.index
            self.index = result_index if result_index > 0 else 0
            self.read_index = self.own_index = self.index
            self.answered = True
            self.state = FeedState(ok_at=time.time())
            if self.follows_stream and self.stream is not None:
                self.stream.poke()
            self.changed()
            # A server that does not hold blocking queries (no index, or the same index at once) is
            # polled on the fallback interval instead (e.g. a caching proxy in front of Nomad).
            blocking = self.index > 0 and not (wait and self.index == previous and elapsed < 1.0)
            self.blocking = blocking
            if not blocking:
                await self._sleep(self.refresh_s)
            elif elapsed < MIN_GAP_S:
                await self._sleep(MIN_GAP_S - elapsed)

    def _failed(self, message: str, refused: bool = False) -> None:
        # One line on the status bar, no escape sequences from a server's body, and never a token (an
        # internal error's text has not been through ApiError's redaction).
        message = truncate(" ".join(safe_text(redact(message), single_line=False).split()), 400)
        old = self.state
        self.index = 0
        self.state = FeedState(
            ok_at=old.ok_at,
            error=message,
            stale_since=old.stale_since or time.time(),
            failures=old.failures + 1,
            refused=refused,
        )
        log.warning("feed %s: %s", self.name, message)
        if refused and self.follows_stream and self.stream is not None:
            self.stream.refused()  # the stream starts without this list (and without its topic)
        self.changed()

    async def _sleep(self, seconds: float) -> None:
        await sleep_unless_woken(self.wake, seconds)

    def forget(self) -> None:
        """The server's state was reset: forget this query's index and read it again in full at once."""
        self.index = self.read_index = self.own_index = self.stream_index = 0
        self.answered = False
        self.kick()

    def stream_ended(self) -> None:
        """The event stream's connection ended: what it brought of this list's table counts as seen now (a
        restarted agent ends the connection; its new state answering below that is a reset)."""
        self.own_index = max(self.own_index, self.stream_index)
        self.stream_index = 0

    def kick(self) -> None:
        """Refresh now: wake a feed waiting out a back-off or an interval, and end a held blocking query
        (the operator asked for a fresh read; this is the one time a request is cut short)."""
        self._force_read = True
        self.wake.set()
        if self._inflight is not None and self._inflight_blocking and not self._inflight.done():
            self._inflight.cancel()


class Feeds(Dict[str, Feed]):
    """Every running feed of one poller, by name, on its loop: whoever owns a feed (the poller its lists,
    the open job its job and allocations, troubleshoot its evaluations and stats) starts it and stops it
    here by name; ctrl+r kicks them all, the status line reads their health, shutdown cancels them."""

    def __init__(self, loop: asyncio.AbstractEventLoop, changed: Callable[[], None], refresh_s: float,
                 on_reset: Optional[Callable[[Feed, int, int], None]] = None) -> None:
        super().__init__()
        self.loop = loop
        self.changed = changed  # a snapshot is due
        self.refresh_s = refresh_s  # the fallback interval for a server that does not block
        self.on_reset = on_reset  # a feed's index went back (the server's state was reset)

    def start(self, name: str, service: str, fetch: Fetch, on_data: Callable[[Any], None], *,
              refresh_s: Optional[float] = None, stream: Optional[StreamGate] = None, follows_stream: bool = False,
              watch_index: bool = True) -> Feed:
        """Start feed `name` (stopping one of that name first). `watch_index`: its index going back means
        the server's state was reset (not for reads whose index belongs to nothing held)."""
        feed = Feed(name, service, fetch, on_data, changed=self.changed,
                    refresh_s=self.refresh_s if refresh_s is None else refresh_s, stream=stream,
                    follows_stream=follows_stream, on_reset=self.on_reset if watch_index else None)
        self.stop(name)
        self[name] = feed
        feed.task = self.loop.create_task(feed.run())
        return feed

    def stop(self, name: str) -> None:
        feed = self.pop(name, None)
        if feed is not None and feed.task is not None:
            feed.task.cancel()

    def kick_all(self) -> None:
        for feed in self.values():
            feed.kick()
