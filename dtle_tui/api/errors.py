"""Errors shared by the Nomad and Consul clients; tokens are cut out of them (text/secrets.py's redact).

Every failure of either API reaches the UI as one `ApiError` whose `one_line()` is what an operator
reads in the status bar: which service, what went wrong, and what to check. Server bodies are kept
verbatim in `detail` (Nomad and Consul answer errors in plain text, docs/reference/nomad-api.md §2,
docs/reference/consul-kv.md §4), but any configured token is cut out first, wherever it appears.
"""

from __future__ import annotations

import re
from enum import Enum
from typing import Optional

from dtle_tui.text.secrets import redact


class ErrorKind(str, Enum):
    UNREACHABLE = "unreachable"
    TIMEOUT = "timeout"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    BAD_REQUEST = "bad_request"  # 400/405/409/413: the server understood and refused the request
    SERVER_ERROR = "server_error"
    BAD_RESPONSE = "bad_response"
    TLS = "tls"


_TOKEN_HINT = {"Nomad": "NOMAD_TOKEN", "Consul": "CONSUL_HTTP_TOKEN"}


def _flat(text: str, limit: int = 300) -> str:
    """One line: Nomad's multierror bodies come as "1 error occurred:\\n\\t* …\\n\\n"."""
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


class ApiError(Exception):
    """A failed call to Nomad or Consul.

    service: "Nomad" or "Consul"; kind: an ErrorKind; status: the HTTP status when there was one;
    detail: the server's plain-text body (trimmed) or the transport reason, never a token;
    addr: the address that was called; hint: what the operator should check (defaults per kind).
    """

    def __init__(
        self,
        service: str,
        kind: ErrorKind,
        status: Optional[int] = None,
        detail: str = "",
        *,
        addr: Optional[str] = None,
        hint: Optional[str] = None,
    ) -> None:
        self.service = service
        self.kind = ErrorKind(kind)
        self.status = status
        self.detail = redact((detail or "").strip())
        self.addr = addr
        self.hint = hint
        super().__init__(self.one_line())

    def one_line(self) -> str:
        service, detail, status = self.service, _flat(self.detail), self.status
        kind = self.kind
        at = f" at {self.addr}" if self.addr else ""
        if kind is ErrorKind.UNREACHABLE:
            text = f"{service} unreachable{at}: {detail or 'no connection'}"
        elif kind is ErrorKind.TIMEOUT:
            text = f"{service} timed out{at}: {detail or 'no answer'}"
        elif kind is ErrorKind.FORBIDDEN:
            hint = self.hint or f"check {_TOKEN_HINT.get(service, 'the token')}"
            what = f"{status}: {detail}" if detail else str(status)
            text = f"{service}: permission denied ({what}) — {hint}"
        elif kind is ErrorKind.NOT_FOUND:
            text = f"{service}: not found ({status}: {detail})" if detail else f"{service}: not found ({status})"
        elif kind is ErrorKind.BAD_REQUEST:
            text = f"{service} rejected the request ({status}): {detail or 'no reason given'}"
        elif kind is ErrorKind.SERVER_ERROR:
            text = f"{service} answered {status}: {detail or '(empty body)'}"
        elif kind is ErrorKind.BAD_RESPONSE:
            text = f"{service} sent {detail or 'an unreadable answer'}"
        else:  # TLS
            text = f"{service}: {detail or 'TLS error'}"
        if self.hint and kind is not ErrorKind.FORBIDDEN:
            text += f" — {self.hint}"
        return redact(text)

    def __str__(self) -> str:
        return self.one_line()

    def __repr__(self) -> str:
        status = "" if self.status is None else f", {self.status}"
        return f"ApiError({self.service}, {self.kind.name}{status}, {self.detail!r})"

    def __reduce__(self):  # keep pickling (multiprocessing, pytest-xdist) working with keyword args
        return (_rebuild, (self.service, self.kind, self.status, self.detail, self.addr, self.hint))


def _rebuild(service, kind, status, detail, addr, hint) -> ApiError:
    return ApiError(service, kind, status, detail, addr=addr, hint=hint)
