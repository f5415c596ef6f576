"""The `[keys]` table of the config file: key remaps by binding ID, checked for form here.

```toml
[keys]
"dtle.jobs.delete" = "D"          # one key
"dtle.app.quit" = "q,ctrl+q"      # several, comma-separated
```

A key is written as Textual writes it: optional modifiers (`ctrl+`, `shift+`, `alt+`, `meta+`,
`super+`, `hyper+`) and then one character (`D`, `?`) or a key name (`escape`, `f5`, `question_mark`,
`space`). `,` and `+` separate keys and modifiers, so those two are written `comma` and `plus`. Whether
an ID exists is checked where the screens are known (dtle_tui/keys.py), not here: this layer knows
nothing of the UI.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

MODIFIERS = ("ctrl", "shift", "alt", "meta", "super", "hyper")
NAMED_KEYS = frozenset(
    ["escape", "enter", "return", "tab", "space", "backspace", "delete", "insert", "home", "end", "pageup",
     "pagedown", "up", "down", "left", "right"] + [f"f{n}" for n in range(1, 25)]
)
# Where Textual's key name is not the character's Unicode name (slash is SOLIDUS).
SHORT_NAMES = frozenset({"slash", "backslash", "at", "minus", "plus", "underscore"})
_ID = re.compile(r"^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)+$")


def key_problem(key: str) -> str:
    """Why `key` (one key, no commas) is not a key Textual can bind; "" when it is one."""
    if not key:
        return "an empty key (the space bar is written `space`, a comma `comma`)"
    if " " in key:
        return f"{key!r} has spaces (write `space` for the space bar)"
    *mods, name = key.split("+")
    bad = [m for m in mods if m not in MODIFIERS]
    if bad or not name:
        return f"{key!r}: modifiers are {', '.join(MODIFIERS)}; `+` itself is written `plus`"
    if len(name) == 1:
        return "" if name.isprintable() else f"{key!r} is not a printable character"
    if name in NAMED_KEYS or name in SHORT_NAMES:
        return ""
    try:  # `question_mark`, `left_square_bracket`: the character's Unicode name, as Textual names keys
        unicodedata.lookup(name.replace("_", " ").upper())
        return ""
    except KeyError:
        return f"{key!r} is not a key name (e.g. D, ctrl+d, f5, escape, question_mark)"


def parse_keys_table(table: Any) -> dict[str, str]:
    """`{binding id: "key[,key…]"}` from the `[keys]` table; ValueError naming the first problem.

    An unquoted dotted ID (`dtle.jobs.delete = "D"`) is a nested table in TOML: flattened back."""
    if not isinstance(table, dict):
        raise ValueError("keys must be a table: [keys] with \"binding.id\" = \"key\" lines")
    out: dict[str, str] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for name, inner in value.items():
                walk(f"{prefix}.{name}" if prefix else str(name), inner)
            return
        if not _ID.match(prefix):
            raise ValueError(f"{prefix!r} is not a binding ID (like dtle.jobs.delete: see `?` or the README)")
        if not isinstance(value, str):
            raise ValueError(f"{prefix}: must be a string of keys, not {type(value).__name__}")
        keys = [k.strip() for k in value.split(",")]
        for key in keys:
            problem = key_problem(key)
            if problem:
                raise ValueError(f"{prefix}: {problem}")
        out[prefix] = ",".join(keys)

    walk("", table)
    return out
