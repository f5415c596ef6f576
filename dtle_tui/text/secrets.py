"""Keep passwords out of the screen, logs and unprotected files.

Nomad returns a dtle job's Config as submitted, passwords included (docs/reference/nomad-api.md §4.2); every
`Password` at any depth (3.x `ConnectionConfig.Password`, 4.x `Src/DestConnectionConfig.Password`) is
secret (docs/reference/dtle.md §7). Tokens (`ConsulToken`, `VaultToken`, `SecretID`) are masked by the same rule.
"""

from __future__ import annotations

import re
import threading
from typing import Any, Iterable, Optional

__all__ = ["SECRET_MASK", "TOKEN_MASK", "add_secret", "is_secret_key", "mask_secrets", "collect_secrets", "redact",
           "redact_text"]

SECRET_MASK = "******"
# Where a configured token (NOMAD_TOKEN, CONSUL_HTTP_TOKEN, basic-auth password) was cut out of an error
# message or the log: says what stood there, which a row of stars in a server's error text would not.
TOKEN_MASK = "<redacted>"

# Beyond password/passwd/secret/token: MYSQL_PWD is how MySQL clients take a password from the
# environment (a task's Env), and "credential" never names anything that is safe to show.
_SECRET_KEY = re.compile(r"password|passwd|pwd|secret|token|credential", re.IGNORECASE)

# Shorter "secrets" would shred ordinary text (a password "1" would hide every digit); such a
# password is not worth protecting from the screen anyway.
MIN_REDACT_LEN = 3
# Tokens are UUIDs or longer: shorter configured values would blank out ordinary words in messages.
MIN_TOKEN_LEN = 4

_tokens: set[str] = set()
_tokens_lock = threading.Lock()  # the poller's thread and the UI's redact at once


def is_secret_key(key: Any) -> bool:
    return isinstance(key, str) and _SECRET_KEY.search(key) is not None


def _is_empty(value: Any) -> bool:
    # Empty stays visible as empty: an operator needs to see that a password is *missing*.
    return value is None or (isinstance(value, (str, list, dict, tuple)) and len(value) == 0)


def mask_secrets(obj: Any) -> Any:
    """Deep copy of `obj` (dicts, lists, tuples) with every secret-named key's non-empty value replaced
    by SECRET_MASK, at any depth. The input is not modified."""
    if isinstance(obj, dict):
        return {
            k: (v if _is_empty(v) else SECRET_MASK) if is_secret_key(k) else mask_secrets(v)
            for k, v in obj.items()
        }
    if isinstance(obj, list):
        return [mask_secrets(v) for v in obj]
    if isinstance(obj, tuple):
        return tuple(mask_secrets(v) for v in obj)
    return obj


def collect_secrets(obj: Any) -> set[str]:
    """Every secret-named string value in `obj`, at any depth (feed to redact_text)."""
    found: set[str] = set()
    stack = [obj]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for k, v in item.items():
                if is_secret_key(k) and isinstance(v, str) and v:
                    found.add(v)
                elif is_secret_key(k) and isinstance(v, (int, float)) and not isinstance(v, bool):
                    found.add(str(v))
                else:
                    stack.append(v)
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
    return found


def add_secret(value: Optional[str]) -> None:
    """Remember a configured token (or password) so `redact` removes it from every later message."""
    if value and len(value) >= MIN_TOKEN_LEN:
        with _tokens_lock:
            _tokens.add(value)


def redact(text: str, extra: Iterable[Optional[str]] = ()) -> str:
    """`text` with every token given to add_secret (and every value in `extra`) replaced by TOKEN_MASK."""
    with _tokens_lock:
        secrets = set(_tokens)
    secrets.update(s for s in extra if s and len(s) >= MIN_TOKEN_LEN)
    return redact_text(text, secrets, mask=TOKEN_MASK)


def redact_text(text: str, secrets: Iterable[str], mask: str = SECRET_MASK) -> str:
    """Replace each known secret (at least MIN_REDACT_LEN chars) in `text` by `mask`; longest first,
    so a secret that contains another is hidden whole. The one redactor: `redact` uses it too."""
    if not text:
        return text
    wanted = sorted({s for s in secrets if isinstance(s, str) and len(s) >= MIN_REDACT_LEN}, key=len,
                    reverse=True)
    wanted = [s for s in wanted if s in text]
    if not wanted:
        return text
    return re.sub("|".join(re.escape(s) for s in wanted), lambda _: mask, text)
