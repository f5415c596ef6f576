"""The HTTP layer both clients share: httpx.AsyncClient from settings, and failures as ApiError.

TLS follows the nomad/consul CLIs (docs/reference/nomad-api.md §7, docs/reference/consul-kv.md §6): a CA file
wins over a CA directory, an optional client certificate pair, skip-verify, and a TLS server name (SNI) that also
becomes the name the certificate is checked against. Writes are never retried (httpx does not retry
unless asked to, and nothing here asks).
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import ssl
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Generic, Mapping, Optional, TypeVar, Union

import certifi
import httpx

from dtle_tui.api.errors import ApiError, ErrorKind
from dtle_tui.api.jsonlist import ElementMemo, ListDecoder
from dtle_tui.config.file import ConfigError
from dtle_tui.text.durations import parse_go_duration
from dtle_tui.text.secrets import add_secret
from dtle_tui.tuning import collector_paused

if TYPE_CHECKING:
    from dtle_tui.config.settings import ConsulSettings, NomadSettings, Settings, TlsSettings

T = TypeVar("T")

# A blocking query may be held `wait` plus up to wait/16 of jitter (docs/reference/nomad-api.md §3); give it that
# and this much more before calling it a timeout.
BLOCKING_MARGIN_S = 5.0
DEFAULT_BLOCKING_WAIT = "5m"  # the servers' own default when only `index` is sent


@dataclass(frozen=True)
class Indexed(Generic[T]):
    """A read result with the index to block on next (X-Nomad-Index / X-Consul-Index, 0 if absent)."""

    value: T
    index: int


@dataclass(frozen=True)
class Call:
    """One request as it will go out, built once by the client that sends it (NomadClient's and ConsulKV's
    `*_call` methods): a confirmation dialog prints `text()`, and the action then sends this very object,
    so what the operator read and what happens cannot differ."""

    request: httpx.Request = field(compare=False)
    finish: Callable[[httpx.Response], Awaitable[Any]] = field(compare=False)  # the answer -> the result
    write: bool = False
    stream: bool = False  # the body is decoded as it arrives (a list read)
    ok_statuses: tuple = ()
    show_body: bool = False  # a job spec holds passwords: only bodies built to be shown are printed

    def text(self) -> str:
        """Method, path and query exactly as they are sent (without the host), and the body when shown."""
        line = f"{self.request.method} {self.request.url.raw_path.decode('ascii')}"
        return f"{line} {self.request.content.decode('utf-8')}" if self.show_body else line


def blocking_timeout(timeout: float, wait: Optional[str]) -> float:
    """The request timeout for a blocking query: the wait, its jitter, and a margin on top."""
    if not wait:
        return timeout
    wait_s = parse_go_duration(wait)
    return timeout + wait_s + wait_s / 16 + BLOCKING_MARGIN_S


def check_tls_files(settings: Settings) -> None:
    """Load each service's certificates now, so a bad PEM is a start-up error rather than a failed request.

    Here and not in config: building an SSL context is the transport's business (config stays below it).
    """
    for service, tls in (("nomad", settings.nomad.tls), ("consul", settings.consul.tls)):
        if not (tls.ca_cert or tls.ca_path or tls.client_cert):
            continue
        try:
            build_ssl_context(tls)
        except (ssl.SSLError, OSError) as exc:
            which = [k for k in ("ca_cert", "client_cert") if getattr(tls, k)]
            where = ", ".join(f"{settings.sources.get(f'{service}.tls.{k}')}" for k in which)
            reason = getattr(exc, "reason", None) or exc
            raise ConfigError(f"{service} TLS files unusable ({where}): {reason}") from None


def build_ssl_context(tls: TlsSettings) -> ssl.SSLContext:
    """An SSLContext as the nomad/consul CLIs would set one up. Raises ssl.SSLError/OSError on bad files."""
    if tls.ca_cert:
        ctx = ssl.create_default_context(cafile=tls.ca_cert)
    elif tls.ca_path:
        ctx = ssl.create_default_context(capath=tls.ca_path)
    else:
        ctx = ssl.create_default_context()
        try:  # the system store may be empty (some Python builds); certifi is what httpx trusts by default
            ctx.load_verify_locations(certifi.where())
        except (OSError, ssl.SSLError):  # pragma: no cover - depends on the host
            pass
    if not tls.verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if tls.client_cert:
        ctx.load_cert_chain(tls.client_cert, tls.client_key or None)
    return ctx


ServiceSettings = Union["NomadSettings", "ConsulSettings"]


def _os_reason(exc: BaseException) -> str:
    """'connection refused' out of '[Errno 111] Connection refused' anywhere in the cause chain."""
    seen = set()
    texts = []
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and (exc.strerror or exc.errno):
            # asyncio's strerror is "Connect call failed ('127.0.0.1', 1)": prefer the errno's own text.
            text = os.strerror(exc.errno) if isinstance(exc.errno, int) and exc.errno > 0 else exc.strerror
            return text[:1].lower() + text[1:]
        texts.append(str(exc))
        exc = exc.__cause__ or exc.__context__
    text = next((t for t in texts if t), "")
    text = re.sub(r"^\[Errno -?\d+\]\s*", "", text)
    return (text[:1].lower() + text[1:]) or "connection failed"


def _ssl_error(exc: BaseException) -> Optional[ssl.SSLError]:
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, ssl.SSLError):
            return exc
        exc = exc.__cause__ or exc.__context__
    return None


_PLAIN_HTTP = ("WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "PACKET_LENGTH_TOO_LONG", "HTTP_REQUEST")
_NEEDS_CLIENT_CERT = ("TLSV13_ALERT_CERTIFICATE_REQUIRED", "SSLV3_ALERT_HANDSHAKE_FAILURE")
_CLIENT_CERT_REJECTED = ("SSLV3_ALERT_BAD_CERTIFICATE", "TLSV1_ALERT_UNKNOWN_CA", "SSLV3_ALERT_CERTIFICATE_UNKNOWN")


def _tls_detail(service: str, exc: BaseException) -> Optional[str]:
    err = _ssl_error(exc)
    text = str(err) if err is not None else str(exc)
    if err is None and "SSL" not in text and "CERTIFICATE" not in text:
        return None
    if isinstance(err, ssl.SSLCertVerificationError) and err.verify_message:
        return f"TLS certificate verify failed: {err.verify_message}"
    reason = getattr(err, "reason", None) or ""
    text = re.sub(r"\s*\(_ssl\.c:\d+\)$", "", text)
    env = service.upper() + "_CLIENT_CERT"
    if reason in _PLAIN_HTTP:
        return f"TLS handshake failed ({reason.lower()}): is the server speaking plain HTTP?"
    if reason in _NEEDS_CLIENT_CERT:
        return f"TLS handshake refused ({reason.lower()}): the server wants a client certificate ({env})"
    if reason in _CLIENT_CERT_REJECTED:
        return f"TLS handshake refused ({reason.lower()}): the server rejected the client certificate ({env})"
    if isinstance(err, (ssl.SSLEOFError, ssl.SSLZeroReturnError, ssl.SSLWantReadError)):
        return f"TLS connection closed by the server: does it want a client certificate ({env})?"
    if "certificate verify failed" in text:
        return "TLS certificate verify failed: " + text.split("certificate verify failed:", 1)[-1].strip()
    return f"TLS error: {text}"


def transport_error(service: str, addr: str, exc: Exception, timeout: float, write: bool = False) -> ApiError:
    """The ApiError for an httpx transport failure (no HTTP status involved)."""
    maybe_applied = " (the change may still have been applied; check before retrying)" if write else ""
    if isinstance(exc, httpx.TimeoutException):
        what = {
            httpx.ConnectTimeout: "could not connect",
            httpx.PoolTimeout: "too many requests in flight",
            httpx.WriteTimeout: "could not send the request",
        }.get(type(exc), "no answer")
        return ApiError(service, ErrorKind.TIMEOUT, None, f"{what} within {timeout:g}s{maybe_applied}", addr=addr)
    tls = _tls_detail(service, exc)
    if tls is not None:
        return ApiError(service, ErrorKind.TLS, None, f"{tls} ({addr})", addr=addr)
    if isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)):
        return ApiError(
            service,
            ErrorKind.UNREACHABLE,
            None,
            f"connection lost: {_os_reason(exc)}{maybe_applied}",
            addr=addr,
        )
    return ApiError(service, ErrorKind.UNREACHABLE, None, _os_reason(exc), addr=addr)


def looks_like_html(response: httpx.Response, body: bytes, sniff: bool = True) -> bool:
    ctype = response.headers.get("content-type", "").lower()
    return "text/html" in ctype or (sniff and body.lstrip()[:1] == b"<")


def _html_title(body: bytes) -> str:
    match = re.search(rb"<title[^>]*>(.*?)</title>", body, re.I | re.S)
    if match:
        return re.sub(r"\s+", " ", match.group(1).decode("utf-8", "replace")).strip()
    return ""


def html_error(service: str, response: httpx.Response, body: bytes) -> ApiError:
    title = _html_title(body) or f"{response.status_code} {response.reason_phrase}".strip()
    return ApiError(
        service,
        ErrorKind.BAD_RESPONSE,
        response.status_code,
        f"HTML, not JSON (a proxy?): {title}",
        addr=str(response.request.url.copy_with(query=None)) if response.request else None,
    )


def status_error(service: str, response: httpx.Response, body: bytes, hint: Optional[str]) -> ApiError:
    """The ApiError for an error status; `body` is the (plain-text) error body."""
    code = response.status_code
    text = body.decode("utf-8", "replace").strip()
    if looks_like_html(response, body):
        return html_error(service, response, body)
    if code in (401, 403) or (code == 500 and "acl token lookup failed" in text):
        # Nomad answers 500 for a token that is not a UUID (docs/reference/nomad-api.md §0): still a token problem.
        return ApiError(service, ErrorKind.FORBIDDEN, code, text, hint=hint)
    if code == 404:
        return ApiError(service, ErrorKind.NOT_FOUND, code, text)
    if 300 <= code < 400:
        where = response.headers.get("location", "")
        return ApiError(service, ErrorKind.BAD_RESPONSE, code, f"a redirect ({code} to {where}): is the address right?")
    if 400 <= code < 500:
        return ApiError(service, ErrorKind.BAD_REQUEST, code, text)
    return ApiError(service, ErrorKind.SERVER_ERROR, code, text)


def invalid_json(service: str, status: int, exc: ValueError, head: bytes) -> ApiError:
    """BAD_RESPONSE for a body that is not JSON, naming its first bytes (whole or streamed decode alike)."""
    snippet = head[:60].decode("utf-8", "replace")
    return ApiError(service, ErrorKind.BAD_RESPONSE, status, f"invalid JSON: {exc} (body starts {snippet!r})")


def decode_json(service: str, response: httpx.Response, expect: Optional[type] = None) -> Any:
    """The JSON body, or BAD_RESPONSE for HTML, invalid JSON, or the wrong top-level shape."""
    body = response.content
    if looks_like_html(response, body):
        raise html_error(service, response, body)
    try:
        with collector_paused():
            value = json.loads(body)
    except ValueError as exc:
        raise invalid_json(service, response.status_code, exc, body) from None
    if expect is not None and not isinstance(value, expect):
        raise ApiError(
            service,
            ErrorKind.BAD_RESPONSE,
            response.status_code,
            f"an unexpected answer: expected {_shape(expect)}, got {_shape(type(value))}",
        )
    return value


async def decode_json_list(service: str, response: httpx.Response, each: Optional[Callable[[Any], Any]] = None,
                           addr: str = "", timeout: float = 0.0, memo: Optional[ElementMemo] = None) -> list:
    """A streamed JSON list body decoded element by element (jsonlist.py), `each` applied to every element.

    The same errors as decode_json: BAD_RESPONSE for HTML, invalid JSON or a body that is not a list;
    transport failures while reading the body as transport_error. The response is closed here.
    """
    decoder = ListDecoder(each, memo)  # memo: elements unchanged since the previous answer are not decoded
    head = b""  # the body's first bytes, for the error message
    try:
        if looks_like_html(response, b"", sniff=False):
            raise html_error(service, response, await response.aread())
        chunks = response.aiter_bytes()
        async for chunk in chunks:
            if len(head) < 60:
                if not head.strip() and (head + chunk).lstrip()[:1] == b"<":  # an HTML page without its type
                    page = head + chunk + b"".join([rest async for rest in chunks])
                    raise html_error(service, response, page)
                head += chunk[: 60 - len(head)]
            with collector_paused():  # per chunk, not across the awaits of the next one
                decoder.feed(chunk)
        value = decoder.close()
    except ValueError as exc:
        raise invalid_json(service, response.status_code, exc, head) from None
    except (httpx.HTTPError, ssl.SSLError) as exc:
        raise transport_error(service, addr, exc, timeout) from None
    finally:
        await response.aclose()
    if not decoder.is_list:
        raise ApiError(service, ErrorKind.BAD_RESPONSE, response.status_code,
                       f"an unexpected answer: expected a list, got {_shape(type(value))}")
    return value


def _shape(kind: type) -> str:
    return {list: "a list", dict: "an object", str: "a string", bool: "a boolean"}.get(kind, f"a {kind.__name__}")


def index_of(response: httpx.Response, header: str) -> int:
    try:
        return max(0, int(response.headers.get(header, "0")))
    except ValueError:
        return 0


def _is_loopback(addr: str) -> bool:
    host = httpx.URL(addr).host
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class ServiceHttp:
    """One httpx.AsyncClient for one service, with ApiError for every failure."""

    def __init__(
        self, service: str, settings: ServiceSettings, timeout: float, token_header: str, hint: Optional[str]
    ) -> None:
        self.service = service
        self.addr = settings.addr.rstrip("/")
        self.timeout = timeout
        self.hint = hint
        # (method, path, body, token set) -> the hint of a refusal, when it depends on the request (Nomad
        # names the missing capability this way); None keeps `hint`.
        self.hint_for: Optional[Callable[[str, str, str, bool], Optional[str]]] = None
        self.token_set = bool(settings.token)
        add_secret(settings.token)
        headers = {"User-Agent": "dtle-tui"}
        if settings.token:
            headers[token_header] = settings.token
        auth = None
        if settings.http_auth:
            user, password = settings.http_auth
            add_secret(password)
            auth = httpx.BasicAuth(user, password)
        tls = settings.tls
        self._extensions = {"sni_hostname": tls.server_name} if tls.server_name else {}
        self.client = httpx.AsyncClient(
            base_url=self.addr,
            headers=headers,
            auth=auth,
            # Loading the CA store costs tens of ms at start-up; a plain-http address never uses it
            # (redirects are not followed, so nothing can move this client to https).
            verify=build_ssl_context(tls) if self.addr.startswith("https:") else False,
            timeout=httpx.Timeout(timeout),
            limits=httpx.Limits(max_connections=32, max_keepalive_connections=8),
            follow_redirects=False,
            # HTTP(S)_PROXY/NO_PROXY as Go honours them, which never proxies loopback addresses.
            trust_env=not _is_loopback(self.addr),
        )

    def build(
        self,
        method: str,
        path: str,
        params: Optional[Mapping[str, Any]] = None,
        content: Optional[bytes] = None,
        json_body: Any = None,
        timeout: Optional[float] = None,
        read_timeout: Optional[float] = -1.0,
    ) -> httpx.Request:
        t = self.timeout if timeout is None else timeout
        tmo = httpx.Timeout(t) if read_timeout == -1.0 else httpx.Timeout(t, read=read_timeout)
        return self.client.build_request(
            method,
            path,
            params=params,
            content=content,
            json=json_body,
            timeout=tmo,
            extensions=dict(self._extensions),
        )

    async def send(
        self, request: httpx.Request, *, ok_statuses: tuple = (), write: bool = False, stream: bool = False
    ) -> httpx.Response:
        """Send; raise ApiError for transport failures and for statuses >= 300 not in ok_statuses."""
        timeout = request.extensions.get("timeout", {}).get("read") or self.timeout
        try:
            response = await self.client.send(request, stream=stream)
            if stream and not (200 <= response.status_code < 300 or response.status_code in ok_statuses):
                await response.aread()
                await response.aclose()
        # httpcore lets ssl.SSLError through unwrapped when a TLS 1.3 alert arrives with the response
        except (httpx.HTTPError, ssl.SSLError) as exc:
            raise transport_error(self.service, self.addr, exc, timeout, write) from None
        if 200 <= response.status_code < 300 or response.status_code in ok_statuses:
            return response
        hint = self.hint
        if self.hint_for is not None:
            body = response.content.decode("utf-8", "replace")
            hint = self.hint_for(request.method, request.url.path, body, self.token_set) or hint
        raise status_error(self.service, response, response.content, hint)

    async def perform(self, call: Call) -> Any:
        """Send a Call and turn its answer into its result."""
        response = await self.send(call.request, ok_statuses=call.ok_statuses, write=call.write, stream=call.stream)
        return await call.finish(response)

    async def aclose(self) -> None:
        await self.client.aclose()
