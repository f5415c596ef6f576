"""Simulated Consul 1.7.2 HTTP API: /v1/kv only (consul-kv.md §1-§5, checklist §8)."""

from __future__ import annotations

import json
import random
import threading

from .gocompat import GoParseError, parse_duration, parse_uint
from .kvstore import KVStore
from .server import JSON, PLAIN, Request, Response, json_response, text

MAX_VALUE = 512 * 1024
DEFAULT_WAIT = 300.0
MAX_WAIT = 600.0


class ConsulApi:
    def __init__(self, kv: KVStore, token: str | None, stopping: threading.Event) -> None:
        self.kv = kv
        self.token = token
        self.stopping = stopping
        self._jitter = random.Random(7)

    def meta(self, index: int) -> dict:
        # Every GET, 200 or 404, carries these (§1, §4): python-consul2 reads X-Consul-Index unconditionally.
        return {"X-Consul-Index": str(index), "X-Consul-Knownleader": "true", "X-Consul-Lastcontact": "0"}

    def fault_body(self, status: int) -> Response:
        if status == 403:
            return text(403, "Permission denied")
        if status == 404:
            return Response(404, b"", PLAIN, self.meta(self.kv.index))
        if status == 500:
            return text(500, "rpc error making call: No cluster leader")
        return text(status, f"Unexpected response code: {status}")

    def __call__(self, request: Request) -> Response:
        path = request.path
        if path == "/v1/status/leader" and request.method == "GET":
            return json_response("127.0.0.1:8300")
        if not path.startswith("/v1/kv/") and path != "/v1/kv":
            return text(404, "404 page not found\n")  # Go's default mux answer for unrouted paths
        key = path[len("/v1/kv/"):] if path.startswith("/v1/kv/") else ""
        if self.token is not None and self._sent_token(request) not in (None, "", self.token):
            # A token Consul does not know is refused outright, even for reads (consul-kv.md §4); only
            # the anonymous token gets ACL-filtered (empty) answers.
            return text(403, "ACL not found")
        if request.method == "GET":
            return self.get(request, key)
        if request.method == "PUT":
            return self.put(request, key)
        if request.method == "DELETE":
            return self.delete(request, key)
        return text(405, f"method {request.method} not allowed")

    # ---- helpers -----------------------------------------------------------------------------------
    def _sent_token(self, request: Request) -> str | None:
        sent = request.headers.get("X-Consul-Token")
        bearer = request.headers.get("Authorization", "")
        if not sent and bearer.lower().startswith("bearer "):
            sent = bearer[7:].strip()
        return sent or request.arg("token")

    def _authorized(self, request: Request) -> bool:
        return self.token is None or self._sent_token(request) == self.token

    def _block(self, request: Request, key: str, prefix: bool) -> Response | None:
        raw_index = request.arg("index")
        if raw_index is None:
            return None
        try:
            index = parse_uint(raw_index)
        except GoParseError:
            return text(400, "Invalid index")
        wait = DEFAULT_WAIT
        if request.arg("wait") is not None:
            try:
                wait = parse_duration(request.arg("wait")) / 1e9
            except GoParseError:
                return text(400, "Invalid wait time")
        wait = min(wait, MAX_WAIT) if wait > 0 else DEFAULT_WAIT
        if index > 0:
            wait += self._jitter.random() * wait / 16
            self.kv.wait(key, prefix, index, wait, self.stopping)
        return None

    # ---- verbs -------------------------------------------------------------------------------------
    def get(self, request: Request, key: str) -> Response:
        recurse, keys_only = request.has("recurse"), request.has("keys")  # presence-keyed (§1)
        if request.has("stale") and request.has("consistent"):
            return text(400, "Cannot specify ?stale with ?consistent, conflicting semantics.")
        if not key and not recurse and not keys_only:
            return text(400, "Missing key name")
        prefix = recurse or keys_only
        if not self._authorized(request):
            if prefix:  # ACL-filtered lists come back empty -> 404, not 403 (§4)
                return Response(404, b"", PLAIN, self.meta(self.kv.query_index(key, True)))
            return text(403, "Permission denied")
        blocked = self._block(request, key, prefix)
        if blocked is not None:
            return blocked
        index = self.kv.query_index(key, prefix)
        if keys_only:
            separator = request.arg("separator", request.arg("seperator", ""))
            names: list[str] = []
            for entry in self.kv.list(key):
                name = entry.key
                if separator:
                    cut = name.find(separator, len(key))
                    if cut >= 0:
                        name = name[: cut + len(separator)]
                if not names or names[-1] != name:
                    names.append(name)
            if not names and key:
                return Response(404, b"", PLAIN, self.meta(index))
            return json_response(names, headers=self.meta(index), sort=False)
        if recurse:
            entries = self.kv.list(key)
        else:
            entry = self.kv.get(key)
            entries = [entry] if entry is not None else []
        if not entries:
            return Response(404, b"", PLAIN, self.meta(index))
        if request.has("raw") and not recurse:
            value = entries[0].value
            return Response(200, value, _sniff(value), self.meta(index))
        body = json.dumps([e.wire() for e in entries], separators=(",", ":")).encode()
        return Response(200, body, JSON, self.meta(index))

    def put(self, request: Request, key: str) -> Response:
        if not key:
            return text(400, "Missing key name")
        if request.has("cas") and (request.has("acquire") or request.has("release")):
            return text(400, f"Conflicting flags: {request.raw_query}\n")
        if not self._authorized(request):
            return text(403, "Permission denied")
        try:
            flags = parse_uint(request.arg("flags")) if request.has("flags") else None
            cas = parse_uint(request.arg("cas")) if request.has("cas") else None
        except GoParseError as exc:
            return text(500, str(exc))
        if len(request.body) > MAX_VALUE:
            return text(413, f"Value exceeds {MAX_VALUE} byte limit")
        ok = self.kv.put(key, request.body, flags=flags, cas=cas)
        return Response(200, b"true" if ok else b"false", JSON)  # no X-Consul-Index on writes (§2)

    def delete(self, request: Request, key: str) -> Response:
        recurse = request.has("recurse")
        if request.has("cas") and recurse:
            return text(400, f"Conflicting flags: {request.raw_query}\n")
        if not key and not recurse:
            return text(400, "Missing key name")
        if not self._authorized(request):
            return text(403, "Permission denied")
        try:
            cas = parse_uint(request.arg("cas")) if request.has("cas") else None
        except GoParseError as exc:
            return text(500, str(exc))
        ok = self.kv.delete(key, recurse=recurse, cas=cas)
        return Response(200, b"true" if ok else b"false", JSON)


def _sniff(value: bytes) -> str:
    """Consul 1.7.x leaves ?raw un-typed and Go's http.DetectContentType guesses (§1)."""
    try:
        decoded = value.decode("utf-8")
    except UnicodeDecodeError:
        return "application/octet-stream"
    if any(ord(c) < 9 or 13 < ord(c) < 32 for c in decoded):
        return "application/octet-stream"
    return PLAIN
