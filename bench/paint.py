"""First paint: the real CLI against the minimal Textual app, on a pty, in interleaved pairs (issue 15)."""

from __future__ import annotations

import compileall
import os
from typing import List, Optional

from bench.measure import ROOT, Env, Plan, cli_argv, needle_for, python, shown
from bench.ptyrun import PtyProcess
from bench.report import Figure, Report, median, spread_ms, verdict_max
from bench.sim_control import BenchSim


# ---- 1. time to first painted job list, against the floor --------------------------------------------
def first_paint(report: Report, plan: Plan, env: Env) -> None:
    app_times: List[Optional[float]] = []
    floor_times: List[Optional[float]] = []
    # pip and pipx byte-compile a package when they install it, so an operator's start-up never compiles
    # our modules; an editable install (make bench from a clone) does not, and the children run with
    # PYTHONDONTWRITEBYTECODE. Compile once here so both apps start the way they start once installed
    # (Textual, in site-packages, was compiled by pip already).
    compileall.compile_dir(str(ROOT / "dtle_tui"), quiet=1)
    compileall.compile_dir(str(ROOT / "bench"), quiet=1)
    load_before = os.getloadavg()
    with BenchSim(10, frozen=True) as sim:
        first = sim.job_ids()[0]
        app_cmd = cli_argv(sim)
        floor_cmd = [python(), "-m", "bench.minimal_app", first]
        # One warm-up pair, not counted: the first start after compiling pays for cold file caches.
        for cmd in (floor_cmd, app_cmd):
            with PtyProcess(cmd, env=env.vars) as proc:
                proc.wait_for_text(needle_for(first), timeout=60)
        # Interleaved pairs, the order alternating, so drift on the (shared) machine hits both alike.
        for i in range(plan.paint_runs):
            pair = ((floor_cmd, floor_times), (app_cmd, app_times))
            for cmd, times in pair if i % 2 == 0 else pair[::-1]:
                with PtyProcess(cmd, env=env.vars) as proc:
                    times.append(proc.wait_for_text(needle_for(first), timeout=60))
    load_after = os.getloadavg()
    app, floor = median(app_times), median(floor_times)
    runs = f"median of {len([t for t in app_times if t is not None])} pairs"
    report.add(
        Figure(
            "first paint: dtle-tui, pty 80x24",
            "10 jobs",
            spread_ms(app_times),
            runs=runs,
            cmd=report.command("paint", shown(app_cmd)),
        )
    )
    report.add(
        Figure(
            "first paint: minimal Textual DataTable app",
            "-",
            spread_ms(floor_times),
            runs=runs,
            cmd=report.command("floor", shown(floor_cmd)),
        )
    )
    ratio = app / floor if app and floor else None
    pairs = sorted(a / f for a, f in zip(app_times, floor_times) if a and f)
    spread = f" (per pair {pairs[0]:.2f} / {median(pairs):.2f} / {pairs[-1]:.2f})" if pairs else ""
    report.add(
        Figure(
            "first paint ratio dtle-tui / minimal",
            "10 jobs",
            (f"{ratio:.2f}x" if ratio else "n/a") + spread,
            "<= 1.5x",
            verdict_max(ratio, 1.5),
            runs=runs,
            cmd="paint/floor",
        )
    )
    report.add(
        Figure(
            "  load average during first paint (1 min)",
            "-",
            f"{load_before[0]:.2f} -> {load_after[0]:.2f} on {os.cpu_count()} cores",
            runs="before -> after",
        )
    )

