"""Go durations ("5s", "1m30s", "250ms", "1h2m3s"): Nomad's and Consul's `wait`, dtle's ETA, a drain deadline.

The one parser of them: api/ (blocking timeouts), model/ (dtle's ETA) and ops/ (the drain deadline) read it.
"""

from __future__ import annotations

import re

_PART = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_UNIT_S = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_go_duration(text: str) -> float:
    """Seconds in a Go duration, a sequence of number+unit parts (ValueError if the text is not one)."""
    text = text.strip()
    pos, total = 0, 0.0
    for match in _PART.finditer(text):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNIT_S[match.group(2)]
        pos = match.end()
    if not text or pos != len(text):
        raise ValueError(f"not a duration: {text!r} (use e.g. 5s, 1m)")
    return total
