"""Go formatting and parsing rules the real servers apply (strconv, time), so the simulator's texts match.

nomad-api.md §1 (RFC3339Nano times, ns durations), §3 (ParseBool, Go durations for `wait`).
"""

from __future__ import annotations

import datetime as _dt
import re

_TRUE = {"1", "t", "T", "TRUE", "true", "True"}
_FALSE = {"0", "f", "F", "FALSE", "false", "False"}


class GoParseError(ValueError):
    pass


def parse_bool(text: str) -> bool:
    """strconv.ParseBool; raises GoParseError with Go's exact message."""
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise GoParseError(f'strconv.ParseBool: parsing "{text}": invalid syntax')


def parse_uint(text: str) -> int:
    """strconv.ParseUint(text, 10, 64)."""
    if not re.fullmatch(r"[0-9]+", text or ""):
        raise GoParseError(f'strconv.ParseUint: parsing "{text}": invalid syntax')
    value = int(text)
    if value >= 1 << 64:
        raise GoParseError(f'strconv.ParseUint: parsing "{text}": value out of range')
    return value


def parse_int(text: str) -> int:
    """strconv.ParseInt(text, 10, 64)."""
    if not re.fullmatch(r"[+-]?[0-9]+", text or ""):
        raise GoParseError(f'strconv.ParseInt: parsing "{text}": invalid syntax')
    return int(text)


_UNITS = {"ns": 1, "us": 1_000, "µs": 1_000, "μs": 1_000, "ms": 1_000_000, "s": 1_000_000_000,
          "m": 60_000_000_000, "h": 3_600_000_000_000}
_PART = re.compile(r"([0-9]*\.?[0-9]*)(ns|us|µs|μs|ms|s|m|h)")


def parse_duration(text: str) -> int:
    """time.ParseDuration -> nanoseconds ("5s", "1m30s", "250ms", "0")."""
    rest = text
    sign = 1
    if rest[:1] in "+-" and rest:
        sign = -1 if rest[0] == "-" else 1
        rest = rest[1:]
    if rest == "0":
        return 0
    if not rest:
        raise GoParseError(f'time: invalid duration "{text}"')
    total = 0.0
    while rest:
        match = _PART.match(rest)
        if not match or match.group(1) in ("", "."):
            raise GoParseError(f'time: invalid duration "{text}"')
        total += float(match.group(1)) * _UNITS[match.group(2)]
        rest = rest[match.end():]
    return sign * int(total)


def format_duration(ns: int) -> str:
    """time.Duration.String(): 5s, 10m0s, 2.113808761s, 1h0m0s, 300ms."""
    if ns == 0:
        return "0s"
    sign = "-" if ns < 0 else ""
    ns = abs(ns)
    if ns < 1_000:
        return f"{sign}{ns}ns"
    if ns < 1_000_000:
        return sign + _trim(f"{ns / 1_000:.3f}") + "µs"
    if ns < 1_000_000_000:
        return sign + _trim(f"{ns / 1_000_000:.6f}") + "ms"
    hours, rem = divmod(ns, 3_600_000_000_000)
    minutes, rem = divmod(rem, 60_000_000_000)
    secs, frac = divmod(rem, 1_000_000_000)
    seconds = str(secs) + (("." + f"{frac:09d}".rstrip("0")) if frac else "")
    if hours:
        return f"{sign}{hours}h{minutes}m{seconds}s"
    if minutes:
        return f"{sign}{minutes}m{seconds}s"
    return f"{sign}{seconds}s"


def _trim(number: str) -> str:
    return number.rstrip("0").rstrip(".") if "." in number else number


def rfc3339nano(ns: int | None) -> str | None:
    """Go time.RFC3339Nano in UTC; trailing zero digits trimmed; the zero time is null (§1)."""
    if not ns:
        return None
    secs, frac = divmod(ns, 1_000_000_000)
    stamp = _dt.datetime.fromtimestamp(secs, _dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    if frac:
        stamp += "." + f"{frac:09d}".rstrip("0")
    return stamp + "Z"


def go_quote(text: str) -> str:
    """Go %q for the ASCII texts we produce (Terminated DisplayMessage, §4.3)."""
    out = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    return '"' + out + '"'
