"""What the status line says of a service (Nomad, Consul): the health of its feeds, folded into one
FeedState. Pure functions of the poller's feeds and event stream, called when a snapshot is built."""

from __future__ import annotations

from typing import TYPE_CHECKING, Mapping, Optional

from dtle_tui.live.snapshot import FeedState

if TYPE_CHECKING:
    from dtle_tui.live.eventfeed import EventFeed
    from dtle_tui.live.feeds import Feed

JOB_DATA = ("jobs", "allocations")  # the lists the status line is about; other refused feeds never make it stale


def state_of(feed: Feed, events: Optional[EventFeed]) -> FeedState:
    state = feed.state
    # A live stream (events, or a heartbeat at least every 30 s) keeps the lists it covers fresh.
    if feed.follows_stream and events is not None and events.state == "live" and events.ok_at and (
            not state.error and (state.ok_at or 0) < events.ok_at):
        return FeedState(ok_at=events.ok_at)
    return state


def service_state(service: str, feeds: Mapping[str, Feed], events: Optional[EventFeed]) -> FeedState:
    # The status line speaks of the job data. Whatever else the token may not read (the agent, the
    # nodes, client stats…) is shown where that data would be: a namespace token cannot read them.
    mine = [(name, f) for name, f in feeds.items() if f.service == service
            and not (service == "Nomad" and f.state.refused and name not in JOB_DATA)]
    states = [state_of(f, events) for _name, f in mine]
    # Read once, the agent's success time says nothing about how fresh the data is.
    ages = [state_of(f, events) for name, f in mine if name != "agent"] or states
    failing = [s for s in states if s.error]
    if failing:
        first = min(failing, key=lambda s: s.stale_since or 0)
        oks = [s.ok_at for s in ages if s.ok_at]
        return FeedState(ok_at=min(oks) if oks else None, error=first.error, stale_since=first.stale_since,
                         failures=max(s.failures for s in failing), refused=any(s.refused for s in failing))
    if not states or any(s.ok_at is None for s in states):
        return FeedState()
    return FeedState(ok_at=min(s.ok_at for s in ages), live=service_live(service, feeds, events))  # type: ignore[type-var]


def service_live(service: str, feeds: Mapping[str, Feed], events: Optional[EventFeed]) -> bool:
    """Every feed of `service` learns of a change as it happens: covered by the live event stream, or
    held as a blocking query (the agent, read once, and feeds the token may not read do not count)."""
    streaming = events is not None and events.state == "live"
    return all(f.blocking or (f.follows_stream and streaming)
               for name, f in feeds.items() if f.service == service and name != "agent"
               and not (f.state.refused and name not in JOB_DATA))
