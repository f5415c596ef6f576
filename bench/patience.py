"""How long the benchmark waits before it calls a step hung.

A full run measures on a quiet machine and its deadlines are sized for that. The smoke test (`--tiny`,
run by the test suite, often on a busy machine) only checks the shape of the table, so there every wait
is stretched by BENCH_PATIENCE (set by `--tiny`, inherited by the benchmark's children): a deadline then
only turns a hang into a failure, never a slow machine into one.
"""

from __future__ import annotations

import os

TINY_PATIENCE = 10.0


def patient(seconds: float) -> float:
    """`seconds`, stretched by BENCH_PATIENCE (read at each call: `--tiny` sets it after imports)."""
    try:
        factor = float(os.environ.get("BENCH_PATIENCE", "1"))
    except ValueError:
        factor = 1.0
    return seconds * max(1.0, factor)
