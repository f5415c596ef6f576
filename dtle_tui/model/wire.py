"""Tolerant coercion of Nomad wire values (helpers for the parsers of model/; no project imports).

Nomad emits every field, zero times as `null`, epochs and durations as int64 ns (docs/reference/nomad-api.md
§1), but documentation samples carry `"0001-01-01T00:00:00Z"`, strings where ints belong and missing keys
(tests/fixtures/reference/), so every helper falls back to a zero value instead of raising.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from operator import itemgetter
from typing import Any, Optional

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


class ParseError(ValueError):
    """The answer does not have the top-level shape of the endpoint (e.g. HTML from a proxy)."""


def shape_error(what: str, data: Any) -> ParseError:
    sample = repr(data)
    if len(sample) > 80:
        sample = sample[:77] + "..."
    return ParseError(f"expected {what}, got {type(data).__name__}: {sample}")


def top_list(data: Any, what: str) -> list:
    if not isinstance(data, list):
        raise shape_error(f"a JSON list of {what}", data)
    return data


def top_dict(data: Any, what: str) -> dict:
    if not isinstance(data, dict):
        raise shape_error(f"a JSON object ({what})", data)
    return data


def as_str(v: Any) -> str:
    if type(v) is str:
        return v
    if v is None or isinstance(v, (dict, list)):
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def as_int(v: Any) -> int:
    if type(v) is int:
        return v
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, float):
        return int(v) if v == v and v not in (float("inf"), float("-inf")) else 0
    if isinstance(v, str):
        try:
            return int(v)
        except ValueError:  # also Python's 4,300-digit limit on int("999…")
            pass
        try:
            f = float(v)
        except ValueError:
            return 0
        return int(f) if f == f and f not in (float("inf"), float("-inf")) else 0
    return 0


def as_bool(v: Any) -> bool:
    if v is True or v is False:
        return v
    if isinstance(v, str):
        # Go strconv.ParseBool spellings (docs/reference/nomad-api.md §3).
        return v.strip() in ("1", "t", "T", "TRUE", "true", "True")
    if isinstance(v, (int, float)):
        return v != 0
    return False


def as_dict(v: Any) -> dict:
    return v if isinstance(v, dict) else {}


def as_list(v: Any) -> list:
    return v if isinstance(v, list) else []


def ns_to_datetime(ns: Optional[int]) -> Optional[datetime]:
    """Unix ns -> aware UTC datetime (µs precision, truncated); 0/None/out of range -> None."""
    if not ns or type(ns) is not int:
        return None
    try:
        return _EPOCH + timedelta(microseconds=ns // 1000)
    except OverflowError:
        return None


_RFC3339 = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)[Tt ](\d\d):(\d\d):(\d\d)(?:\.(\d+))?(?:([Zz])|([+-])(\d\d):?(\d\d))"
)


def parse_time(v: Any) -> Optional[datetime]:
    """RFC3339Nano -> aware UTC datetime. Nanoseconds are truncated to µs (Python's precision).

    `null` is Nomad's zero time; `0001-01-01T00:00:00Z` is the doc samples' stale spelling of it.
    """
    if type(v) is not str:
        return None
    m = _RFC3339.fullmatch(v.strip())
    if not m:
        return None
    year, mon, day, hh, mm, ss, frac, z, sign, oh, om = m.groups()
    if year == "0001":
        return None
    try:
        dt = datetime(int(year), int(mon), int(day), int(hh), int(mm), min(int(ss), 59),
                      int((frac or "0")[:6].ljust(6, "0")), tzinfo=timezone.utc)
        if not z:
            offset = timedelta(hours=int(oh), minutes=int(om))
            dt = dt - offset if sign == "+" else dt + offset
    except (ValueError, OverflowError):
        return None
    return dt


def go_duration(ns: int) -> str:
    """Go's time.Duration.String(): 2.087756415s, 10m0s, 1h0m0s, 500ms, 0s (for DisplayMessage)."""
    if ns == 0:
        return "0s"
    sign = "-" if ns < 0 else ""
    ns = abs(ns)
    if ns < 1_000_000_000:
        for unit, size in (("ms", 1_000_000), ("µs", 1_000), ("ns", 1)):
            if ns >= size:
                return sign + _trim(ns, size) + unit
    hours, rest = divmod(ns, 3_600_000_000_000)
    minutes, rest = divmod(rest, 60_000_000_000)
    seconds = _trim(rest, 1_000_000_000) + "s"
    if hours:
        return f"{sign}{hours}h{minutes}m{seconds}"
    if minutes:
        return f"{sign}{minutes}m{seconds}"
    return sign + seconds


def _trim(value: int, size: int) -> str:
    whole, frac = divmod(value, size)
    if not frac:
        return str(whole)
    digits = len(str(size)) - 1
    return f"{whole}.{str(frac).rjust(digits, '0').rstrip('0')}"


def go_quote(s: str) -> str:
    """Close enough to Go's %q for display: double quotes, backslash escapes."""
    return json.dumps(s, ensure_ascii=False)


_obj_setattr = object.__setattr__
_STR, _INT, _BOOL = {str}, {int}, {bool}


def build(cls: type, values: dict) -> Any:
    """Make a frozen dataclass instance from a complete field dict without running __init__.

    A frozen dataclass __init__ pays one object.__setattr__ per field (1.7 µs for an Allocation); a
    refresh parses 15,000 of them. `values` must hold every field (see the Shape that checked it).
    """
    obj = cls.__new__(cls)
    _obj_setattr(obj, "__dict__", values)
    return obj


class Shape:
    """Which fields must be str / int / bool; one C-speed type check per group, fixes only on a miss."""

    def __init__(self, strs: tuple = (), ints: tuple = (), bools: tuple = ()) -> None:
        self._groups = [
            # itemgetter of one name returns a scalar, so a single name is asked for twice.
            (names, itemgetter(*(names if len(names) > 1 else names * 2)), wanted, conv)
            for names, wanted, conv in ((strs, _STR, as_str), (ints, _INT, as_int), (bools, _BOOL, as_bool))
            if names
        ]

    def fix(self, values: dict) -> dict:
        for names, getter, wanted, conv in self._groups:
            got = getter(values)
            if wanted is _STR:
                try:
                    "".join(got)  # C-speed "all of them are str": join refuses anything else
                    continue
                except TypeError:
                    pass
            elif set(map(type, got)) == wanted:
                continue
            for name in names:
                values[name] = conv(values[name])
        return values
