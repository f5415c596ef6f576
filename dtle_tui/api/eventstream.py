"""Nomad 1.1's event stream, GET /v1/event/stream (docs/reference/nomad-api.md §6): what changed, as it changes.

Newline-delimited JSON: one `{"Events":[…],"Index":N}` line per raft transaction (after topic and
namespace filtering) and a `{}` heartbeat at open and every 30 s. Nomad 0.11 answers 404. An event's
payload is the whole object as of that index: `{"Job": <Job>}` (no JobSummary), `{"Allocation":
<Allocation>}` with its `Job` set to null, `{"Node": <Node>}`, `{"Evaluation": <Evaluation>}`
(hashicorp/nomad@v1.1.2 nomad/state/events.go).
"""

from __future__ import annotations

import asyncio
import json
import ssl
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, AsyncIterator, Optional, Sequence

import httpx

from dtle_tui.api.errors import ApiError, ErrorKind
from dtle_tui.api.http import transport_error
from dtle_tui.model.wire import ParseError, as_int, as_str, shape_error

if TYPE_CHECKING:
    from dtle_tui.api.nomad import NomadClient

HEARTBEAT_S = 30.0  # nomad/stream/ndjson.go: a `{}` line at least this often on a live stream
SERVICE = "Nomad"


@dataclass(frozen=True)
class Event:
    topic: str  # Job, Allocation, Node, Evaluation, Deployment, NodeDrain
    type: str  # JobRegistered, JobDeregistered, AllocationUpdated, PlanResult, NodeRegistration, …
    key: str  # the object's ID
    index: int
    payload: Any  # the object under Payload[<topic>] (a dict), None when absent
    filter_keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class EventFrame:
    index: int
    events: tuple[Event, ...]


def parse_event_line(line: Any) -> Optional[EventFrame]:
    """One line of the stream: an EventFrame, or None for a heartbeat `{}` or a blank line.

    ParseError when the line is not a JSON object (a proxy's page, a cut line); odd fields inside get
    defaults, as everywhere in the parsers.
    """
    if isinstance(line, (bytes, bytearray)):
        line = bytes(line).decode("utf-8", "replace")
    if not line.strip():
        return None
    try:
        data = json.loads(line)
    except ValueError as exc:
        raise ParseError(f"an event stream line that is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise shape_error("a JSON object (an event stream line)", data)
    raw_events = data.get("Events")
    if not data or raw_events is None:
        return None  # the heartbeat (or a frame left empty by filtering, which Nomad does not send)
    events = []
    for ev in raw_events if isinstance(raw_events, list) else ():
        if not isinstance(ev, dict):
            continue
        topic = as_str(ev.get("Topic"))
        payload = ev.get("Payload")
        keys = ev.get("FilterKeys")
        events.append(Event(
            topic=topic, type=as_str(ev.get("Type")), key=as_str(ev.get("Key")), index=as_int(ev.get("Index")),
            payload=payload.get(topic) if isinstance(payload, dict) else None,
            filter_keys=tuple(as_str(k) for k in keys) if isinstance(keys, list) else (),
        ))
    return EventFrame(as_int(data.get("Index")), tuple(events))


class EventStream:
    """The open stream: `async for frame in stream` yields EventFrame, or None for each heartbeat.

    `index`: start at the frame of that raft index (or the closest one Nomad still buffers). The first
    line (Nomad's heartbeat at open) must arrive within `first_timeout`: a proxy that buffers the answer
    never sends it. Later lines within `read_timeout` (heartbeats come every 30 s), else TIMEOUT.
    """

    def __init__(self, client: NomadClient, index: int, topics: Sequence[str], first_timeout: float,
                 read_timeout: float = HEARTBEAT_S * 1.5) -> None:
        self._client = client
        self.index, self.topics = index, tuple(topics)
        self.first_timeout, self.read_timeout = first_timeout, read_timeout
        self._response: Optional[httpx.Response] = None
        self._lines: Optional[AsyncIterator[bytes]] = None
        self._first = True

    async def open(self) -> None:
        http = self._client._http
        params: list = list(self._client._params.items()) + [("index", str(self.index))]
        params += [("topic", t) for t in self.topics]  # repeated topic= (event_endpoint.go parseEventTopics)
        request = http.build("GET", "/v1/event/stream", params=params, read_timeout=self.read_timeout)
        self._response = await http.send(request, stream=True)
        self._lines = self._split(self._response.aiter_bytes())

    @staticmethod
    async def _split(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        pending = b""
        async for chunk in chunks:
            pending += chunk
            while True:
                cut = pending.find(b"\n")
                if cut < 0:
                    break
                yield pending[:cut]
                pending = pending[cut + 1:]
        if pending.strip():
            yield pending

    def __aiter__(self) -> EventStream:
        return self

    async def _first_line(self) -> bytes:
        if self._lines is None:
            await self.open()
        assert self._lines is not None
        return await self._lines.__anext__()

    async def __anext__(self) -> Optional[EventFrame]:
        http = self._client._http
        try:
            if self._first:
                # Connecting and the opening heartbeat together: a server or proxy that holds either back
                # is not streaming (the read timeout of a live stream is much longer).
                line = await asyncio.wait_for(self._first_line(), self.first_timeout)
                self._first = False
            else:
                assert self._lines is not None
                line = await self._lines.__anext__()
        except StopAsyncIteration:
            await self.aclose()
            raise
        except (asyncio.TimeoutError, httpx.TimeoutException):
            await self.aclose()
            waited = self.first_timeout if self._first else self.read_timeout
            raise ApiError(SERVICE, ErrorKind.TIMEOUT, None, f"no line on the event stream within {waited:g}s",
                           addr=http.addr) from None
        except (httpx.HTTPError, ssl.SSLError) as exc:
            await self.aclose()
            raise transport_error(SERVICE, http.addr, exc, self.read_timeout) from None
        return parse_event_line(line)

    async def aclose(self) -> None:
        if self._response is not None:
            response, self._response = self._response, None
            try:
                await response.aclose()
            except Exception:  # closing a broken stream: nothing more to learn from it
                pass
