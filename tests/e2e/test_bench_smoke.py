"""Keeps `make bench` from rotting: the whole benchmark once, at 10 jobs, with every duration cut short.

Only the shape of the table is checked (every row there, every figure a number). Timings and their
targets are never asserted here: they belong to `make bench` and bench/RESULTS.md. `--tiny` also stretches
every deadline of the benchmark itself tenfold (bench/patience.py), so a busy machine never turns a figure
into "n/a" or a step into an error: here a deadline only turns a hang into a failure.
"""

from __future__ import annotations

import re
import subprocess
import sys

from bench.report import previous_run
from tests.helpers.paths import ROOT

ROOT = ROOT

ROWS = [
    "first paint: dtle-tui, pty 80x24",
    "first paint: minimal Textual DataTable app",
    "first paint: the minimal app, its row over httpx",
    "first paint ratio dtle-tui / minimal",
    "of which httpx+httpcore+anyio: (minimal over httpx) / minimal",
    "of which dtle-tui itself: dtle-tui / (minimal over httpx)",
    "load average during first paint (1 min)",
    "requests to first full load (Nomad+Consul)",
    "idle requests/min Nomad",
    "idle requests/min Consul",
    "requests per ctrl+r",
    "requests per poll cycle (1 alloc changed)",
    "idle bytes/s to the terminal",
    "RSS after load+refreshes, pty (peak)",
    "CPU per refresh (fetch+parse+diff+render)",
    "wall time per refresh (change -> painted)",
    "of which garbage collection (CPU)",
    "snapshots painted per refresh",
    "peak RSS (headless 200x50)",
    "key->screen: cursor move (normal)",
    "key->screen: filter keystroke (normal)",
    "key->screen: open Job detail (normal)",
    "key->screen: cursor move (API answers in 1 s)",
    "key->screen: filter keystroke (API answers in 1 s)",
    "key->screen: open Job detail (API answers in 1 s)",
    "key->screen: cursor move while a list decode is under way",
    "list answers read+decoded per change (first chunk -> end)",
    "soak RSS start -> half -> end (max)",
    "soak CPU while the scenario moves",
    "soak requests/min (Nomad+Consul, moving)",
]
NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def test_benchmark_runs_and_prints_every_row(tmp_path):
    results = tmp_path / "RESULTS.md"
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "--tiny", "--results", str(results)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=15 * 60,  # only turns a hang into a failure: about 40 s on an idle 2-core machine
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    table = {}
    header: list = []
    for line in proc.stdout.splitlines():
        cells = [c.strip() for c in line.split("|")]
        if len(cells) >= 7 and cells[0] == "figure":
            header = cells
        elif len(cells) >= 7:
            table[cells[0]] = cells
    # The committed RESULTS.md (the last full run) is read and its figures shown beside the new ones.
    assert any(h.startswith("last full run (") for h in header), header
    for row in ROWS:
        assert row in table, f"missing row {row!r} in:\n{proc.stdout}"
        value = table[row][2]
        assert NUMBER.search(value), f"{row}: {value!r} is not a measured number"
        assert "n/a" not in value, f"{row}: nothing measured"
    assert "note: " not in proc.stdout.replace("note: took", ""), proc.stdout  # no worker error notes
    assert "| paint" in proc.stdout and "[paint] " in proc.stdout  # the command behind the figures
    text = results.read_text()
    assert "machine:" in text and "Textual" in text and "cores" in text
    # What this run wrote is what the next run reads back beside its own figures.
    _sha, written = previous_run(results)
    for row in ROWS:
        assert written[(row, table[row][1])] == table[row][2], row
