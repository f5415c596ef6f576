"""NomadClient: one async method per Nomad HTTP endpoint dtle-tui uses; returns decoded JSON.

Both dialects dtle 3.x ships (Nomad 0.11.1 and 1.1.2) answer these endpoints alike (docs/reference/nomad-api.md §8);
the shape differences are the parsers' business (model/), not the client's.
"""

from __future__ import annotations

import json
import ssl
from typing import TYPE_CHECKING, Any, AsyncIterator, Callable, Optional
from urllib.parse import quote

import httpx

from dtle_tui.api.capabilities import refusal_hint
from dtle_tui.api.errors import ApiError, ErrorKind
from dtle_tui.api.http import (
    DEFAULT_BLOCKING_WAIT,
    Call,
    Indexed,
    ServiceHttp,
    blocking_timeout,
    decode_json,
    decode_json_list,
    index_of,
    transport_error,
)

if TYPE_CHECKING:
    from dtle_tui.api.jsonlist import ElementMemo
    from dtle_tui.config.settings import NomadSettings

__all__ = ["Indexed", "LogStream", "NomadClient"]

SERVICE = "Nomad"
NO_ALLOCATION = "00000000-0000-0000-0000-000000000000"  # Nomad never hands out the nil UUID


def _q(segment: str) -> str:
    # Job IDs may hold anything ("mig-[b]ops", spaces, "/"): quote every reserved character.
    return quote(segment, safe="")


class NomadClient:
    def __init__(self, settings: NomadSettings, timeout: float = 10.0) -> None:
        self.settings = settings
        self.timeout = timeout
        hint = "check NOMAD_TOKEN" if settings.token else "no token is set: set NOMAD_TOKEN"
        self._http = ServiceHttp(SERVICE, settings, timeout, "X-Nomad-Token", hint)
        self._http.hint_for = refusal_hint  # a refused token: name the capability it lacks
        self._params: dict[str, str] = {}
        if settings.region:
            self._params["region"] = settings.region
        if settings.namespace:
            self._params["namespace"] = settings.namespace

    @property
    def addr(self) -> str:
        return self._http.addr

    # -- plumbing: every request is a Call built here (region and namespace on each) ----------------

    def _get(self, path: str, expect: type, index: int = 0, wait: Optional[str] = None,
             each: Optional[Callable[[Any], Any]] = None, memo: Optional[ElementMemo] = None) -> Call:
        """A read; with `index`, a blocking one (docs/reference/nomad-api.md §3): its timeout covers the wait."""
        query = dict(self._params)
        timeout = self.timeout
        if index:
            wait = wait or DEFAULT_BLOCKING_WAIT
            query["index"] = str(index)
            query["wait"] = wait
            timeout = blocking_timeout(self.timeout, wait)
        request = self._http.build("GET", path, params=query, timeout=timeout)
        if expect is list:
            # Lists are decoded as they arrive, element by element (jsonlist.py): never the whole answer
            # at once. `each` turns each element into what the caller keeps.
            async def decode_list(response: httpx.Response) -> Indexed:
                value = await decode_json_list(SERVICE, response, each, self._http.addr, timeout, memo)
                return Indexed(value, index_of(response, "X-Nomad-Index"))

            return Call(request, decode_list, stream=True)

        async def decode(response: httpx.Response) -> Indexed:
            return Indexed(decode_json(SERVICE, response, expect), index_of(response, "X-Nomad-Index"))

        return Call(request, decode)

    def _post(self, method: str, path: str, body: Any = None, params: Optional[dict] = None,
              show_body: bool = False) -> Call:
        """A write. The body goes out as `json.dumps` writes it, so the dialog that shows it shows the bytes."""
        query = dict(self._params)
        query.update(params or {})
        content = None if body is None else json.dumps(body).encode("utf-8")
        request = self._http.build(method, path, params=query, content=content)
        if content is not None:
            request.headers["Content-Type"] = "application/json"

        async def decode(response: httpx.Response) -> dict:
            return decode_json(SERVICE, response, dict)

        return Call(request, decode, write=True, show_body=show_body)

    async def send(self, call: Call) -> Any:
        """Send a Call this client built: a write returns Nomad's answer, a read an Indexed value."""
        return await self._http.perform(call)

    async def _read(self, path: str, expect: type, index: int = 0, wait: Optional[str] = None,
                    each: Optional[Callable[[Any], Any]] = None, memo: Optional[ElementMemo] = None) -> Indexed:
        return await self.send(self._get(path, expect, index, wait, each, memo))

    # -- reads --------------------------------------------------------------------------------------

    async def jobs(self, index: int = 0, wait: Optional[str] = None, each: Optional[Callable[[Any], Any]] = None,
                   memo: Optional[ElementMemo] = None) -> Indexed[list]:
        """`each` (all list reads): applied to every element as it is decoded; the list holds its results.
        `memo` (jobs, allocations): the previous answer's elements, reused where the text is the same."""
        return await self._read("/v1/jobs", list, index, wait, each=each, memo=memo)

    async def allocs_index(self) -> int:
        """The allocations table's index alone, the one /v1/allocations answers with: an allocation that
        cannot exist answers 404 with it (alloc_endpoint.go GetAlloc; recorded in
        tests/fixtures/real-nomad/*/answers.json). A cheap proof of which state answers, on its own path (never
        beside a held list query)."""
        request = self._http.build("GET", f"/v1/allocation/{NO_ALLOCATION}", params=dict(self._params))
        response = await self._http.send(request, ok_statuses=(404,))
        return index_of(response, "X-Nomad-Index")

    def job_call(self, job_id: str, index: int = 0, wait: Optional[str] = None) -> Call:
        return self._get(f"/v1/job/{_q(job_id)}", dict, index, wait)

    async def job(self, job_id: str, index: int = 0, wait: Optional[str] = None) -> Indexed[dict]:
        return await self.send(self.job_call(job_id, index, wait))

    def job_allocations_call(self, job_id: str, index: int = 0, wait: Optional[str] = None,
                             each: Optional[Callable[[Any], Any]] = None) -> Call:
        return self._get(f"/v1/job/{_q(job_id)}/allocations", list, index, wait, each=each)

    async def job_allocations(self, job_id: str, index: int = 0, wait: Optional[str] = None,
                              each: Optional[Callable[[Any], Any]] = None) -> Indexed[list]:
        return await self.send(self.job_allocations_call(job_id, index, wait, each))

    async def allocations(self, index: int = 0, wait: Optional[str] = None,
                          each: Optional[Callable[[Any], Any]] = None, memo: Optional[ElementMemo] = None
                          ) -> Indexed[list]:
        return await self._read("/v1/allocations", list, index, wait, each=each, memo=memo)

    def allocation_call(self, alloc_id: str, index: int = 0, wait: Optional[str] = None) -> Call:
        return self._get(f"/v1/allocation/{_q(alloc_id)}", dict, index, wait)

    async def allocation(self, alloc_id: str, index: int = 0, wait: Optional[str] = None) -> Indexed[dict]:
        return await self.send(self.allocation_call(alloc_id, index, wait))

    async def nodes(self, index: int = 0, wait: Optional[str] = None,
                    each: Optional[Callable[[Any], Any]] = None) -> Indexed[list]:
        return await self._read("/v1/nodes", list, index, wait, each=each)

    async def job_evaluations(self, job_id: str, index: int = 0, wait: Optional[str] = None) -> Indexed[list]:
        return await self._read(f"/v1/job/{_q(job_id)}/evaluations", list, index, wait)

    async def allocation_stats(self, alloc_id: str) -> dict:
        """GET /v1/client/allocation/<id>/stats (answered by the client node; no X-Nomad-Index)."""
        return (await self._read(f"/v1/client/allocation/{_q(alloc_id)}/stats", dict)).value

    def node_call(self, node_id: str, index: int = 0, wait: Optional[str] = None) -> Call:
        return self._get(f"/v1/node/{_q(node_id)}", dict, index, wait)

    async def node(self, node_id: str, index: int = 0, wait: Optional[str] = None) -> Indexed[dict]:
        return await self.send(self.node_call(node_id, index, wait))

    def node_allocations_call(self, node_id: str, index: int = 0, wait: Optional[str] = None,
                              each: Optional[Callable[[Any], Any]] = None) -> Call:
        return self._get(f"/v1/node/{_q(node_id)}/allocations", list, index, wait, each=each)

    async def node_allocations(self, node_id: str, index: int = 0, wait: Optional[str] = None,
                               each: Optional[Callable[[Any], Any]] = None) -> Indexed[list]:
        """GET /v1/node/<id>/allocations: the node's allocations, whole (each carries its Job)."""
        return await self.send(self.node_allocations_call(node_id, index, wait, each))

    async def agent_self(self) -> dict:
        return (await self._read("/v1/agent/self", dict)).value

    # -- writes: built as Calls (a dialog prints them), sent once, never retried ---------------------

    def register_call(self, spec: dict) -> Call:
        """POST /v1/jobs. `spec` is {"Job": {...}} (as `nomad job run -output` prints) or a bare job. Its body
        is never shown: a job spec holds database passwords."""
        if not isinstance(spec, dict):
            raise TypeError("a job spec must be a dict")
        # Go decodes request keys case-insensitively (docs/reference/nomad-api.md §1), so "job" is a wrapper too.
        wrapped = any(k.lower() == "job" and isinstance(v, dict) for k, v in spec.items())
        return self._post("POST", "/v1/jobs", spec if wrapped else {"Job": spec})

    def deregister_call(self, job_id: str, purge: bool = False) -> Call:
        return self._post("DELETE", f"/v1/job/{_q(job_id)}", params={"purge": "true"} if purge else None)

    def restart_call(self, alloc_id: str, task: Optional[str] = None) -> Call:
        """POST /v1/client/allocation/<id>/restart: one task ({"TaskName": task}) or all of them ({})."""
        return self._post("POST", f"/v1/client/allocation/{_q(alloc_id)}/restart",
                          {"TaskName": task} if task else {}, show_body=True)

    def stop_call(self, alloc_id: str) -> Call:
        """POST /v1/allocation/<id>/stop: Nomad stops it and places a replacement (NextAllocation)."""
        return self._post("POST", f"/v1/allocation/{_q(alloc_id)}/stop")

    def eligibility_call(self, node_id: str, eligible: bool) -> Call:
        return self._post("POST", f"/v1/node/{_q(node_id)}/eligibility",
                          {"Eligibility": "eligible" if eligible else "ineligible"}, show_body=True)

    def drain_call(self, node_id: str, deadline_ns: Optional[int]) -> Call:
        """POST /v1/node/<id>/drain; deadline_ns None stops a running drain ({"DrainSpec": null})."""
        spec = None if deadline_ns is None else {"Deadline": int(deadline_ns), "IgnoreSystemJobs": False}
        return self._post("POST", f"/v1/node/{_q(node_id)}/drain", {"DrainSpec": spec}, show_body=True)

    async def register(self, spec: dict) -> dict:
        return await self.send(self.register_call(spec))

    async def deregister(self, job_id: str, purge: bool = False) -> dict:
        return await self.send(self.deregister_call(job_id, purge))

    # -- logs ---------------------------------------------------------------------------------------

    def logs(
        self,
        alloc_id: str,
        task: str,
        log_type: str = "stdout",
        *,
        follow: bool = True,
        origin: str = "end",
        offset: int = 0,
        plain: bool = True,
        read_timeout: Optional[float] = None,
    ) -> LogStream:
        """A LogStream over GET /v1/client/fs/logs/<alloc> (docs/reference/nomad-api.md §5).

        plain=True yields the log bytes; plain=False yields Nomad's raw framed stream (concatenated
        `{"Offset","Data","File","FileEvent"}` JSON objects and `{}` heartbeats every second) for a
        caller that tracks file positions across rotation. `read_timeout`: seconds of silence before
        giving up (TIMEOUT); None waits for ever, which is right for plain follow (no heartbeats).
        """
        if log_type not in ("stdout", "stderr"):
            raise ValueError("log_type must be stdout or stderr")
        if origin not in ("start", "end"):
            raise ValueError("origin must be start or end")
        return LogStream(self, alloc_id, task, log_type, follow, origin, offset, plain, read_timeout)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> NomadClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


class LogStream:
    """Async iterator of raw log bytes from one task of one allocation.

    `offset` is the absolute byte offset reached in the log when the stream was opened with
    origin="start" (reconnect with `resume()` or origin="start", offset=stream.offset); with
    origin="end" only `bytes_read` is known, and `resume()` re-attaches at the end (bytes written
    while disconnected are skipped). Nomad rotates log files; offsets count from the first file that
    still exists, so a resume after rotation may repeat or skip a little.
    """

    def __init__(
        self,
        client: NomadClient,
        alloc_id: str,
        task: str,
        log_type: str,
        follow: bool,
        origin: str,
        offset: int,
        plain: bool = True,
        read_timeout: Optional[float] = None,
    ) -> None:
        self._client = client
        self.alloc_id, self.task, self.log_type = alloc_id, task, log_type
        self.follow, self.origin, self.start_offset = follow, origin, offset
        self.plain, self.read_timeout = plain, read_timeout
        self.bytes_read = 0
        self._iter: Optional[AsyncIterator[bytes]] = None
        self._response: Optional[httpx.Response] = None
        self.closed = False

    @property
    def offset(self) -> Optional[int]:
        if self.origin == "start":
            return self.start_offset + self.bytes_read
        return None

    def resume(self) -> LogStream:
        """A new stream continuing this one (plain streams; framed callers track frame offsets)."""
        origin, offset = ("start", self.offset or 0) if self.origin == "start" else ("end", 0)
        return LogStream(
            self._client,
            self.alloc_id,
            self.task,
            self.log_type,
            self.follow,
            origin,
            offset,
            self.plain,
            self.read_timeout,
        )

    def __aiter__(self) -> LogStream:
        return self

    async def __anext__(self) -> bytes:
        if self.closed:
            raise StopAsyncIteration
        if self._iter is None:
            await self.open()
        assert self._iter is not None
        http = self._client._http
        try:
            chunk = await self._iter.__anext__()
        except StopAsyncIteration:
            await self.aclose()
            raise
        except httpx.TimeoutException:
            await self.aclose()
            raise ApiError(
                SERVICE,
                ErrorKind.TIMEOUT,
                None,
                f"no data on the log stream for {self.read_timeout:g}s",
                addr=http.addr,
            ) from None
        except (httpx.HTTPError, ssl.SSLError) as exc:
            await self.aclose()
            raise transport_error(SERVICE, http.addr, exc, http.timeout) from None
        self.bytes_read += len(chunk)
        return chunk

    async def open(self) -> None:
        """Connect now (iteration connects lazily): errors surface here and origin=end is pinned."""
        if self._iter is not None:
            return
        client = self._client
        params = dict(client._params)
        params.update(
            task=self.task,
            type=self.log_type,
            plain="true" if self.plain else "false",
            origin=self.origin,
            offset=str(self.start_offset),
            follow="true" if self.follow else "false",
        )
        # While following a plain stream Nomad sends nothing until the task writes: no read timeout
        # unless the caller asks for one (framed streams carry a heartbeat every second).
        read_timeout = self.read_timeout if self.follow else -1.0
        request = client._http.build(
            "GET", f"/v1/client/fs/logs/{_q(self.alloc_id)}", params=params, read_timeout=read_timeout
        )
        self._response = await client._http.send(request, stream=True)
        self._iter = self._response.aiter_bytes()

    async def aclose(self) -> None:
        self.closed = True
        if self._response is not None:
            await self._response.aclose()
            self._response = None

    async def __aenter__(self) -> LogStream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
