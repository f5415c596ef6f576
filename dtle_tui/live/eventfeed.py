"""Following Nomad's event stream instead of re-reading whole lists (Nomad 1.1.2; poller.py starts it).

After the first full reads of /v1/jobs, /v1/allocations and /v1/nodes, one stream (`index=` the lowest
of their X-Nomad-Index values, topics Job, Allocation, Node, Evaluation) brings each change as it
happens, and the list feeds rest: a change to one allocation costs one small line instead of the
whole 50 MB list at 15,000 allocations.

- Only the topics the token can read: Node is left out while /v1/nodes is refused (a namespace token
  without node:read); 1.1.2 refuses a whole subscription with 500 `Permission denied` when one topic
  is not allowed, so Node, then Evaluation, is dropped and the stream asked again at once. A refused
  list never holds the stream back (it starts once every list answered or was refused).
- Unsupported (0.11's 404, an ACL 403, a 400, HTML, a 500 Permission denied with nothing left to drop,
  or three connections in a row that stayed silent past the opening heartbeat: a proxy that buffers):
  the list feeds go back to blocking queries; the stream is tried again every RECONCILE_S and on ctrl+r.
- Dropped (end of stream, connection lost, no heartbeat within 45 s): reconnect at once from the last
  index seen (Nomad replays from there); if that fails the list feeds take over and the stream is
  retried with the feeds' back-off.
- Nomad's buffer holds the last 100 transactions; a resume from an index it no longer holds starts at
  the oldest one it has, and a garbage collection leaves no Job/Allocation event at all. So the lists
  are read again in full every RECONCILE_S while the stream is live, and on ctrl+r (which also retries
  a stream that is off; a live one stays open).
- A frame whose Index is below the stream's starting index or its previous frame: Nomad's state was
  reset (or the resume index is one this server never reached). The lists are read again at once; the
  feeds see their indexes go back and the poller starts over (`start_over`): the stream then starts again
  from the fresh reads. A resume whose first frame is past the index it asked for lost frames Nomad had
  already dropped from its buffer: the lists are read again too.
- A purge emits no Job event in 1.1.2 (nomad/state/events.go ignores deleted jobs), only the
  deregistration's Evaluation; a stop emits a Job event (Stop: true) at the same index first. An
  Evaluation "JobDeregistered" without that Job event is checked with GET /v1/job/<id> (404 = purged).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Callable, Optional

from dtle_tui.api.errors import ApiError, ErrorKind
from dtle_tui.api.eventstream import EventFrame, EventStream
from dtle_tui.api.nomad import NomadClient
from dtle_tui.live.feeds import Feed, backoff_delay, sleep_unless_woken
from dtle_tui.live.store import NomadStore
from dtle_tui.model.jobs import parse_job_stubs
from dtle_tui.model.nodes import parse_nodes
from dtle_tui.model.wire import ParseError

log = logging.getLogger(__name__)

TOPICS = ("Job", "Allocation", "Node", "Evaluation")
# Full re-read of the lists while the stream is live, and how long an unavailable stream waits before it is
# tried again (module constant: tests patch it).
RECONCILE_S = 300.0
PENDING, LIVE, OFF = "pending", "live", "off"
TOPIC_OF_LIST = {"jobs": "Job", "allocations": "Allocation", "nodes": "Node"}
EVENT_PUBLISH_DELAY_S = 0.04  # a transaction's events come in one line; a burst of lines still makes one snapshot


def _unsupported(exc: ApiError) -> bool:
    """Failures that say the stream is not available here (as opposed to Nomad being down)."""
    if exc.kind in (ErrorKind.NOT_FOUND, ErrorKind.FORBIDDEN, ErrorKind.BAD_REQUEST, ErrorKind.BAD_RESPONSE):
        return True
    # 1.1.2 reports a subscription its token may not make as 500 "Permission denied"; 501 from a proxy.
    return exc.status == 501 or (exc.status == 500 and "ermission denied" in exc.detail)


class EventFeed:
    """The stream's state (pending / live / off) and the loop that follows it into the store.

    It knows the poller only through what it is given: the Nomad client, the store, the list feeds
    (`list_feeds()`, which it rests and wakes), `changed(delay)` (a snapshot is due) and `allocation_item`
    (how the poller keeps an allocation: slim, or whole for the open job).
    """

    def __init__(self, nomad: NomadClient, store: NomadStore, *, list_feeds: Callable[[], list[Feed]],
                 changed: Callable[..., None], allocation_item: Callable[[Any], Any], timeout: float) -> None:
        self.nomad = nomad
        self.store = store
        self.list_feeds = list_feeds
        self.notify_changed = changed
        self.allocation_item = allocation_item
        self.timeout = timeout
        self.state = PENDING
        self.ok_at: Optional[float] = None  # wall time of the last line (event or heartbeat)
        self.last_index = 0
        self._probe_index = 0  # the allocations table's index as the last probe (_same_state) answered it
        self.lists_moved = False  # the list feeds answered while the stream was not live
        self.failures = 0
        self.changed = asyncio.Event()  # replaced at every state change; the list feeds wait on it
        self.task: Optional[asyncio.Task] = None
        self._reader: Optional[asyncio.Task] = None
        self._wake = asyncio.Event()
        self._job_event_at: dict[str, int] = {}
        self._reconcile: Optional[asyncio.TimerHandle] = None
        self._proven = False  # was live since the start or the last ctrl+r
        self._lines = 0  # lines of the current connection
        self._silent = 0  # connections in a row that brought no more than the opening heartbeat
        # (payload, index) of every Evaluation event: the open job's evaluations (live/troubleshoot.py)
        self.on_evaluation: Optional[Callable[[Any, int], None]] = None
        self._dropped: set = set()  # topics the stream refused for this token (500 Permission denied)
        self._listed = asyncio.Event()  # a list feed answered or was refused: see whether all have

    @property
    def covers_lists(self) -> bool:
        """The list feeds rest: the stream is live, or its first verdict is still to come."""
        return self.state in (PENDING, LIVE)

    def covers(self, name: str) -> bool:
        """This list feed rests: the stream covers lists and brings its topic (Node may be left out)."""
        return self.covers_lists and TOPIC_OF_LIST.get(name) in self.topics()

    def topics(self) -> tuple:
        """What to subscribe to: what the token can read. Node is left out while /v1/nodes is refused
        (a namespace token without node:read), and any topic the stream itself refused (`_dropped`)."""
        nodes_refused = any(f.name == "nodes" and f.state.refused for f in self.list_feeds())
        return tuple(t for t in TOPICS if t not in self._dropped and not (t == "Node" and nodes_refused))

    def _set(self, state: str) -> None:
        if state == self.state:
            return
        self.state = state
        old, self.changed = self.changed, asyncio.Event()
        old.set()
        if state == LIVE:
            self.lists_moved = False
            for feed in self.list_feeds():
                feed.yield_to_stream()
            self._schedule_reconcile()
        elif self._reconcile is not None:
            self._reconcile.cancel()
            self._reconcile = None
        self.notify_changed()

    def poke(self) -> None:
        """A list feed answered: the stream may start (first reads done) or resume from the lists' index."""
        if self.state != LIVE:
            self.lists_moved = True
        self._wake.set()
        self._listed.set()

    def refused(self) -> None:
        """A list feed was refused (403): the stream must not wait for that list's first answer."""
        self._listed.set()

    def kick(self) -> None:
        """ctrl+r: a stream that is off (unsupported, or failing) is tried again at once: the operator may
        have fixed the token or the proxy. A live one is left alone: its heartbeats prove it works (a
        dead one is noticed within 45 s), and the full re-read ctrl+r also does repairs whatever it
        missed. A connection attempt under way is left to finish: never two streams in flight."""
        self.failures = self._silent = 0
        self._dropped.clear()  # the operator may have given the token more rights
        if self.state == OFF:
            self._proven = False
            self._set(PENDING)
            self._wake.set()

    # ---- the loop --------------------------------------------------------------------------------
    async def run(self) -> None:
        while True:
            await self._lists_read()
            # Resuming (the lists rested since the last connection): prove first that the same state
            # answers. A stream resumed on a reset Nomad may well bring only frames above its index.
            if not self.lists_moved:
                same = await self._same_state()
                if same is None:  # Nomad did not answer: as a failed connection (the lists take over and
                    self.failures += 1  # compare their own indexes; a stream from here could not tell)
                    self._set(OFF)
                    await self._sleep(backoff_delay(self.failures))
                    continue
                if not same:
                    continue
            self._reader = asyncio.ensure_future(self._follow(self._start_index()))
            try:
                await asyncio.wait({self._reader})
            except asyncio.CancelledError:
                self._reader.cancel()
                raise
            if self._reader.cancelled():  # ctrl+r: connect again at once
                continue
            exc = self._reader.exception()
            was_live = self.state == LIVE
            # Nothing at all within the timeout, or the opening heartbeat and then nothing more: a proxy
            # that holds the stream back, or a server too slow to answer yet. Three in a row: not
            # available here. (Refused connections and errors say nothing either way.)
            timed_out = isinstance(exc, ApiError) and exc.kind is ErrorKind.TIMEOUT
            if self._lines == 1 or (self._lines == 0 and timed_out):
                self._silent += 1
            elif self._lines > 1:
                self._silent = 0
            if isinstance(exc, ApiError) and _refused_topic(exc) and self._drop_a_topic():
                continue  # at once, with one topic fewer
            unsupported = isinstance(exc, ApiError) and _unsupported(exc) and not self._proven
            if unsupported or self._silent >= 3:
                log.info("event stream not available (%s): blocking queries instead",
                         exc.one_line() if isinstance(exc, ApiError) else exc)
                self._set(OFF)
                await self._sleep(RECONCILE_S)  # tried again now and then, and on ctrl+r
                self._proven, self._silent = False, 0
                continue
            self.failures += 1
            message = exc.one_line() if isinstance(exc, ApiError) else f"{type(exc).__name__}: {exc}"
            log.warning("event stream: %s", message)
            if was_live and self.failures == 1:
                self._set(PENDING)  # a drop: resume at once from the last index; the lists keep resting
                continue
            self._set(OFF)
            await self._sleep(backoff_delay(self.failures))

    def start_over(self) -> None:
        """Nomad's state was reset: forget where the stream was; it starts again where the lists' fresh
        reads leave off (a connected stream is ended: it would resume from an index of the old state)."""
        self.last_index = 0
        self.lists_moved = True
        self._probe_index = 0
        self._job_event_at.clear()
        if self._reader is not None and not self._reader.done():
            self._reader.cancel()
            self._set(PENDING)

    async def _same_state(self) -> Optional[bool]:
        """False when the allocations table's index went below what is known of it (the list's last
        answer, or the last Allocation event): Nomad's state was reset. The allocations feed reports it,
        and the poller starts over: lists first, then the stream. One small request, only before a resume
        (every job registered anew writes allocations, so a rebuilt cluster shows there first). None when
        Nomad did not answer it."""
        feed = next((f for f in self.list_feeds() if f.name == "allocations"), None)
        if feed is None or not feed.read_index or feed.on_reset is None:
            return True
        try:
            index = await self.nomad.allocs_index()
        except ApiError:
            return None
        # Compared with what a query of that table answered (the list's own answer, or this probe's last),
        # never with an index an event raised: an Allocation event's index may be above the table's.
        seen = max(feed.own_index, self._probe_index)
        self._probe_index = max(self._probe_index, index)
        if 0 < index < seen:
            self._probe_index = 0
            feed.on_reset(feed, seen, index)
            feed.forget()
            return False
        return True

    def _read_lists_again(self, why: str) -> None:
        log.info("event stream: %s: the lists are read again", why)
        for feed in self.list_feeds():
            feed.kick()

    def _out_of_order(self, frame: EventFrame, start: int, previous: int) -> bool:
        """Read the lists again if this frame says the stream cannot be trusted alone; True if so."""
        if frame.index < max(start, previous):
            self._read_lists_again(f"frame {frame.index} after {max(start, previous)} (reset?)")
            return True
        if not previous and start and start == self.last_index and frame.index > start:
            # The frame of `start` was ours and is gone from Nomad's buffer: frames between were dropped.
            self._read_lists_again(f"resumed at {start}, first frame {frame.index}")
            return True
        return False

    def _drop_a_topic(self) -> bool:
        """The token may not read every topic (1.1.2 answers 500 Permission denied for the whole
        subscription): leave out Node, then Evaluation (purges are then seen at the next full read).
        False when only what the lists need is left: then the lists' blocking queries take over."""
        topics = self.topics()
        for topic in ("Node", "Evaluation"):
            if topic in topics:
                log.info("event stream refused with %s: subscribing without it", topic)
                self._dropped.add(topic)
                return True
        return False

    async def _follow(self, index: int) -> None:
        nomad = self.nomad
        stream = EventStream(nomad, index, self.topics(), first_timeout=self.timeout)
        self._lines = 0
        previous, relisted = 0, False  # the lists are read again once per connection at most
        try:
            async for frame in stream:
                self.ok_at = time.time()
                self._lines += 1
                if self._lines == 2:
                    self.failures = 0  # more than the opening heartbeat came through: it really works
                if self.state != LIVE:
                    self._proven = True
                    self._set(LIVE)
                if frame is not None:
                    relisted = relisted or self._out_of_order(frame, index, previous)
                    previous = max(previous, frame.index)
                    self.apply(frame)
                # A heartbeat too: the status line's age says how fresh the data is.
                self.notify_changed(EVENT_PUBLISH_DELAY_S)
            raise ApiError("Nomad", ErrorKind.UNREACHABLE, None, "the event stream ended", addr=nomad.addr)
        finally:
            for feed in self.list_feeds():
                feed.stream_ended()
            await stream.aclose()

    def _start_index(self) -> int:
        topics = self.topics()
        indexes = [f.read_index for f in self.list_feeds() if f.read_index and TOPIC_OF_LIST.get(f.name) in topics]
        if self.lists_moved or not self.last_index:
            return min(indexes) if indexes else 0
        return self.last_index

    async def _lists_read(self) -> None:
        """Until every list feed has answered once (or was refused: a list the token cannot read must
        not hold the others back): the stream starts where those answers left off."""
        while not all(f.answered or f.state.refused for f in self.list_feeds()):
            self._listed.clear()
            await self._listed.wait()

    async def _sleep(self, seconds: float) -> None:
        await sleep_unless_woken(self._wake, seconds)

    def _schedule_reconcile(self) -> None:
        if self._reconcile is not None:
            self._reconcile.cancel()
        self._reconcile = asyncio.get_running_loop().call_later(RECONCILE_S, self._reconcile_now)

    def _reconcile_now(self) -> None:
        self._reconcile = None
        if self.state == LIVE:
            for feed in self.list_feeds():
                feed.kick()
            self._schedule_reconcile()

    def stop(self) -> None:
        if self._reconcile is not None:
            self._reconcile.cancel()
        for task in (self._reader, self.task):
            if task is not None:
                task.cancel()

    # ---- events into the store ----------------------------------------------------------------------
    def apply(self, frame: EventFrame) -> None:
        store = self.store
        for ev in frame.events:
            payload = ev.payload
            if ev.topic == "Evaluation" and isinstance(payload, dict):
                self._evaluation(payload, ev.index)
            if ev.topic == "Allocation" and isinstance(payload, dict):
                store.put_allocation(self.allocation_item(payload))
            elif ev.topic == "Job" and isinstance(payload, dict):
                for stub in parse_job_stubs([payload]):
                    store.put_job(stub)
                    self._job_event_at[stub.id] = ev.index
            elif ev.topic == "Node":
                if ev.type == "NodeDeregistration":
                    store.drop_node(ev.key)
                elif isinstance(payload, dict):
                    store.put_node(parse_nodes(payload)[0])
            elif ev.topic == "Evaluation" and ev.type == "JobDeregistered":
                job_id = _eval_job(payload, ev.filter_keys)
                if job_id and job_id in store.jobs and self._job_event_at.get(job_id) != ev.index:
                    asyncio.get_running_loop().create_task(self._check_purged(job_id))
        if len(self._job_event_at) > 20_000:
            self._job_event_at.clear()
        self.last_index = max(self.last_index, frame.index)
        # An event of a topic is a write to its table: the stream resumes past it. It is no index a query
        # answered: it tells a reset only once this connection has ended (feeds.Feed.own_index).
        topics = {ev.topic for ev in frame.events}
        for feed in self.list_feeds():
            if TOPIC_OF_LIST.get(feed.name) in topics and feed.read_index < frame.index:
                feed.read_index = frame.index
            if TOPIC_OF_LIST.get(feed.name) in topics and feed.stream_index < frame.index:
                feed.stream_index = frame.index

    def _evaluation(self, payload: dict, index: int) -> None:
        # A finished evaluation says how many allocations of each group it could not place: the Jobs
        # screen's "1 queued" (the stream's Job events carry no JobSummary).
        queued = payload.get("QueuedAllocations")
        job_id = payload.get("JobID")
        if payload.get("Status") == "complete" and isinstance(queued, dict) and isinstance(job_id, str):
            self.store.put_queued(job_id, queued)
        if self.on_evaluation is not None:
            self.on_evaluation(payload, index)

    async def _check_purged(self, job_id: str) -> None:
        nomad = self.nomad
        try:
            answer = await nomad.job(job_id)
        except ApiError as exc:
            if exc.status == 404:
                self.store.drop_job(job_id)
                self.notify_changed()
            return  # anything else: the next full read settles it
        try:
            for stub in parse_job_stubs([answer.value]):
                self.store.put_job(stub)
        except ParseError:
            return
        self.notify_changed()


def _refused_topic(exc: ApiError) -> bool:
    return exc.status == 500 and "ermission denied" in exc.detail


def _eval_job(payload: Any, filter_keys: tuple) -> str:
    job_id = payload.get("JobID") if isinstance(payload, dict) else None
    if isinstance(job_id, str) and job_id:
        return job_id
    return filter_keys[0] if filter_keys else ""
