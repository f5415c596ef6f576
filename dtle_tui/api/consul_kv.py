"""ConsulKV: the dtle keys in Consul KV, through python-consul2's KV API on an httpx transport.

python-consul2 builds the requests and decodes the answers (docs/reference/consul-kv.md §7.3); its `http_connect`
extension point (§7.4) lets every call return an awaitable that sends the request with httpx, so
`await kv.get(...)` works without aiohttp. Three of its habits are neutralised here:
- it reads CONSUL_HTTP_ADDR / CONSUL_HTTP_TOKEN / CONSUL_HTTP_SSL* itself and lets them override the
  arguments (and raises on an IPv6 or `unix://` address): our Settings already applied the same
  variables, with the CLI's full rules, so the library never sees the environment;
- its constructor emits two DeprecationWarnings (legacy ACL, discovery chain) from sub-APIs we never use;
- a 200 without X-Consul-Index makes `kv.get` raise KeyError: headers here read as None when absent.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Optional
from urllib.parse import quote

import consul
import consul.base
import httpx

from dtle_tui.api.errors import ApiError, ErrorKind
from dtle_tui.api.http import (
    DEFAULT_BLOCKING_WAIT,
    Call,
    Indexed,
    ServiceHttp,
    blocking_timeout,
    html_error,
    looks_like_html,
)

if TYPE_CHECKING:
    from dtle_tui.config.settings import ConsulSettings

__all__ = ["ConsulKV", "Indexed", "KvEntry"]

SERVICE = "Consul"
# Where dtle keeps its users (with their passwords in plain text) and roles: never read, listed, backed up
# or shown (docs/reference/real-dtle.md §5). The console reads `dtle/` and `dtleJobList/` only.
PRIVATE_PREFIXES = ("dtleUser/", "dtleRole/")


@dataclass(frozen=True)
class KvEntry:
    key: str
    value: Optional[bytes]  # None for an empty value (Consul sends "Value": null)
    flags: int
    create_index: int
    modify_index: int


class _LenientHeaders(dict):
    """Case-insensitive headers where a missing one reads as None (python-consul2 indexes [...])."""

    def __init__(self, headers: Any) -> None:
        super().__init__((k.lower(), v) for k, v in headers.items())

    def __getitem__(self, key: str) -> Any:
        return super().get(key.lower())

    def get(self, key: str, default: Any = None) -> Any:
        return super().get(key.lower(), default)


class _HttpxTransport(consul.base.HTTPClient):
    """python-consul2 HTTPClient whose methods return Calls (api/http.py): python-consul2 decides the path,
    query and body of each KV request, and the Call built from them is what a dialog prints and what is
    sent (`ConsulKV.send`), its answer handed back to python-consul2's own decoding."""

    def __init__(self, http: ServiceHttp) -> None:
        # The base class only keeps these for `uri()`, which we do not use: httpx has the base URL.
        super().__init__(host="", port=0, scheme="http", verify=True, cert=None, timeout=http.timeout)
        self.http = http

    def _request(self, callback: Any, method: str, path: str, params: Any, data: Any, headers: Any) -> Call:
        params = list(params or [])
        wait = dict(params).get("wait")
        timeout = blocking_timeout(self.http.timeout, wait) if wait else None
        content = data.encode("utf-8") if isinstance(data, str) else data
        # Quote as python-consul2's own uri() does: a job ID may hold "?", "#", "%" or spaces.
        path = quote(path, safe="/:")
        request = self.http.build(method, path, params=params, content=content or None, timeout=timeout)
        for name, value in (headers or {}).items():
            request.headers[name] = value

        async def finish(response: httpx.Response) -> Any:
            body = response.content
            if body.strip() and looks_like_html(response, body):  # a proxy or a web server, not Consul
                raise html_error(SERVICE, response, body)
            result = consul.base.Response(response.status_code, _LenientHeaders(response.headers), response.text,
                                          body)
            try:
                return callback(result)
            except consul.ConsulException as exc:  # a status python-consul2 rejects that we let through
                raise _from_consul_exception(exc) from None
            except (ValueError, TypeError) as exc:  # json.loads / base64 on a garbled body
                snippet = body[:60].decode("utf-8", "replace")
                raise ApiError(
                    SERVICE,
                    ErrorKind.BAD_RESPONSE,
                    response.status_code,
                    f"invalid JSON: {exc} (body starts {snippet!r})",
                ) from None

        # 404 is python-consul2's "missing key" answer; every other error status becomes ApiError.
        return Call(request, finish, write=method != "GET", ok_statuses=(404,))

    def get(self, callback, path, params=None, headers=None):
        return self._request(callback, "GET", path, params, None, headers)

    def put(self, callback, path, params=None, data="", headers=None):
        return self._request(callback, "PUT", path, params, data, headers)

    def delete(self, callback, path, params=None, data="", headers=None):
        return self._request(callback, "DELETE", path, params, None, headers)

    def post(self, callback, path, params=None, data="", headers=None):
        return self._request(callback, "POST", path, params, data, headers)


def _from_consul_exception(exc: Exception) -> ApiError:
    text = str(exc)
    if isinstance(exc, (consul.ACLPermissionDenied, consul.ACLDisabled)):
        return ApiError(SERVICE, ErrorKind.FORBIDDEN, 403, text)
    if isinstance(exc, consul.NotFound):
        return ApiError(SERVICE, ErrorKind.NOT_FOUND, 404, text)
    code, _, rest = text.partition(" ")
    status = int(code) if code.isdigit() else None
    if isinstance(exc, (consul.base.BadRequest, consul.base.ClientError)):
        return ApiError(SERVICE, ErrorKind.BAD_REQUEST, status, rest if status else text)
    if isinstance(exc, consul.Timeout):
        return ApiError(SERVICE, ErrorKind.TIMEOUT, status, rest if status else text)
    return ApiError(SERVICE, ErrorKind.SERVER_ERROR, status, rest if status else text)


class _AsyncConsul(consul.base.Consul):
    """python-consul2's Consul with only what the KV API needs, and no environment reading."""

    def __init__(self, transport: _HttpxTransport, token: Optional[str]) -> None:
        # Deliberately not calling consul.base.Consul.__init__: it reads CONSUL_HTTP_* from os.environ
        # (overriding our settings) and builds the deprecated ACL/discovery-chain sub-APIs.
        self.http = transport
        self.token = token
        self.dc = None
        self.consistency = "default"
        self.scheme = "http"
        self.kv = consul.base.Consul.KV(self)

    def http_connect(self, *args: Any, **kwargs: Any) -> _HttpxTransport:  # the extension point
        return self.http


def _entry(item: dict) -> KvEntry:
    value = item.get("Value")
    if isinstance(value, str):
        value = value.encode("utf-8")
    return KvEntry(
        key=str(item.get("Key", "")),
        value=value,
        flags=int(item.get("Flags") or 0),
        create_index=int(item.get("CreateIndex") or 0),
        modify_index=int(item.get("ModifyIndex") or 0),
    )


def _index(value: Any) -> int:
    try:
        return max(0, int(value))
    except (TypeError, ValueError):
        return 0


def _listed(answer: tuple) -> Indexed[list]:
    """python-consul2's (index, items) of a recursive read as entries; items None (a 404) is none."""
    got_index, items = answer
    if items is not None and not isinstance(items, list):
        raise ApiError(
            SERVICE,
            ErrorKind.BAD_RESPONSE,
            200,
            f"an unexpected answer: expected a list, got a {type(items).__name__}",
        )
    entries = [_entry(item) for item in items or [] if isinstance(item, dict)]
    return Indexed(entries, _index(got_index))


def _check_key(key: str) -> None:
    if not key or key.startswith("/"):
        raise ValueError(f"a Consul key must be non-empty and not start with '/': {key!r}")


class ConsulKV:
    def __init__(self, settings: ConsulSettings, timeout: float = 10.0) -> None:
        self.settings = settings
        self.timeout = timeout
        hint = "check CONSUL_HTTP_TOKEN" if settings.token else "no token is set: set CONSUL_HTTP_TOKEN"
        self._http = ServiceHttp(SERVICE, settings, timeout, "X-Consul-Token", hint)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            # The token goes into X-Consul-Token through python-consul2 per request; ServiceHttp has
            # it as a default header too, so every call carries it either way.
            self._consul = _AsyncConsul(_HttpxTransport(self._http), settings.token)

    @property
    def addr(self) -> str:
        return self._http.addr

    async def send(self, call: Call) -> Any:
        """Send a Call this client built; python-consul2's decoding of the answer."""
        return await self._http.perform(call)

    # -- the requests, built by python-consul2 (docs/reference/consul-kv.md §7.3) --------------------
    def get_call(self, key: str) -> Call:
        _check_key(key)
        if key.startswith(PRIVATE_PREFIXES):
            raise ValueError(f"refusing to read {key!r}: dtle's users and roles are never read")
        return self._consul.kv.get(key)

    def get_prefix_call(self, prefix: str, index: int = 0, wait: Optional[str] = None) -> Call:
        if prefix.startswith("/"):
            raise ValueError(f"a Consul prefix must not start with '/': {prefix!r}")
        if any(private.startswith(prefix) or prefix.startswith(private) for private in PRIVATE_PREFIXES):
            # Consul's recurse is a plain string prefix: `dtle` also reads dtleUser/, whose values hold
            # passwords in plain text (docs/reference/real-dtle.md §5). Never read, whatever the caller.
            raise ValueError(f"refusing to read {prefix!r}: it covers dtle's users and roles (dtleUser/, dtleRole/)")
        if index:
            wait = wait or DEFAULT_BLOCKING_WAIT
        return self._consul.kv.get(prefix, index=index or None, wait=wait, recurse=True)

    def put_call(self, key: str, value: bytes, cas: Optional[int] = None, flags: Optional[int] = None) -> Call:
        _check_key(key)
        return self._consul.kv.put(key, value, cas=cas, flags=flags)

    def delete_call(self, key: str) -> Call:
        _check_key(key)
        return self._consul.kv.delete(key)

    def delete_tree_call(self, prefix: str) -> Call:
        """Every key under `prefix`, which must end with "/": Consul's recurse is a plain string prefix, so
        "dtle/job1" would also delete "dtle/job10/…" (docs/reference/dtle.md §4)."""
        if not prefix.endswith("/"):
            raise ValueError(
                f"delete_tree needs a prefix ending with '/' (dtle/job1 would match dtle/job10): {prefix!r}"
            )
        if prefix.strip("/") == "" or prefix.startswith("/"):
            raise ValueError(f"refusing to delete the tree {prefix!r}")
        return self._consul.kv.delete(prefix, recurse=True)

    def job_entries_calls(self, job_id: str) -> tuple[Call, Call]:
        """dtle's keys for one job: `dtle/<job>/…` (with the slash, so job1 never picks up job10) and
        `dtleJobList/<job>` (docs/reference/dtle.md §2)."""
        return self.get_prefix_call(f"dtle/{job_id}/"), self.get_call(f"dtleJobList/{job_id}")

    # -- the requests sent ------------------------------------------------------------------------------
    async def get(self, key: str) -> Optional[KvEntry]:
        _, item = await self.send(self.get_call(key))
        return _entry(item) if isinstance(item, dict) else None

    async def get_prefix(self, prefix: str, index: int = 0, wait: Optional[str] = None) -> Indexed[list]:
        """Every key starting with `prefix` (a plain string prefix, docs/reference/consul-kv.md §1); blocking with
        an index."""
        return _listed(await self.send(self.get_prefix_call(prefix, index, wait)))

    async def job_entries(self, job_id: str) -> list:
        """The entries of `job_entries_calls`, the tree's then the listed one."""
        tree_call, listed_call = self.job_entries_calls(job_id)
        tree = _listed(await self.send(tree_call))
        _, listed = await self.send(listed_call)
        return list(tree.value) + ([_entry(listed)] if isinstance(listed, dict) else [])

    async def put(self, key: str, value: bytes, cas: Optional[int] = None, flags: Optional[int] = None) -> bool:
        """Write `value`; with `cas`, only if the key's ModifyIndex still equals it (0: only if absent)."""
        return bool(await self.send(self.put_call(key, value, cas, flags)))

    async def delete(self, key: str) -> bool:
        """Delete exactly `key`; never recursive."""
        return bool(await self.send(self.delete_call(key)))

    async def delete_tree(self, prefix: str) -> bool:
        """Delete every key under `prefix` (delete_tree_call says which)."""
        return bool(await self.send(self.delete_tree_call(prefix)))

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> ConsulKV:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
