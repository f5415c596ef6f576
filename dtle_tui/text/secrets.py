"""Keep passwords out of the screen, logs and unprotected files.

Nomad returns a dtle job's Config as submitted, passwords included (nomad-api.md §4.2); every
`Password` at any depth (3.x `ConnectionConfig.Password`, 4.x `Src/DestConnectionConfig.Password`) is
secret (dtle.md §7). Tokens (`ConsulToken`, `VaultToken`, `SecretID`) are masked by the same rule.
"""

from __future__ import annotations

import re
from typing import Any, Iterable

__all__ = ["SECRET_MASK", "is_secret_key", "mask_secrets", "collect_secrets", "redact_text"]

SECRET_MASK = "******"

# Beyond password/passwd/secret/token: MYSQL_PWD is how MySQL clients take a password from the
# environment (a task's Env), and "credential" never names anything that is safe to show.
_SECRET_KEY = re.compile(r"password|passwd|pwd|secret|token|credential", re.IGNORECASE)

# Shorter "secrets" would shred ordinary text (a password "1" would hide every digit); such a
# password is not worth protecting from the screen anyway.
MIN_REDACT_LEN = 3


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


def redact_text(text: str, secrets: Iterable[str]) -> str:
    """Replace each known secret (at least MIN_REDACT_LEN chars) in `text` by SECRET_MASK; longest
    first, so a secret that contains another is hidden whole."""
    if not text:
        return text
    wanted = sorted({s for s in secrets if isinstance(s, str) and len(s) >= MIN_REDACT_LEN}, key=len,
                    reverse=True)
    wanted = [s for s in wanted if s in text]
    if not wanted:
        return text
    return re.sub("|".join(re.escape(s) for s in wanted), SECRET_MASK, text)
