"""First paint: the real CLI against the minimal Textual app (the floor) and against that app with its row
fetched over httpx (the floor plus the HTTP stack), on a pty, in interleaved rounds (issue 15)."""

from __future__ import annotations

import compileall
import os
from typing import List, Optional

from bench.measure import ROOT, Env, Plan, cli_argv, needle_for, python, shown
from bench.patience import patient
from bench.ptyrun import PtyProcess
from bench.report import Figure, Report, median, spread_ms, verdict_max
from bench.sim_control import BenchSim


# ---- 1. time to first painted job list, against the floor --------------------------------------------
def first_paint(report: Report, plan: Plan, env: Env) -> None:
    app_times: List[Optional[float]] = []
    floor_times: List[Optional[float]] = []
    http_times: List[Optional[float]] = []
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
        http_cmd = [python(), "-m", "bench.minimal_http_app", sim.nomad_addr]
        runs = ((floor_cmd, floor_times), (http_cmd, http_times), (app_cmd, app_times))
        # One warm-up round, not counted: the first start after compiling pays for cold file caches.
        for cmd, _times in runs:
            with PtyProcess(cmd, env=env.vars) as proc:
                proc.wait_for_text(needle_for(first), timeout=patient(60))
        # Interleaved rounds, the order turning, so drift on the (shared) machine hits all three alike.
        for i in range(plan.paint_runs):
            for cmd, times in runs[i % 3:] + runs[:i % 3]:
                with PtyProcess(cmd, env=env.vars) as proc:
                    times.append(proc.wait_for_text(needle_for(first), timeout=patient(60)))
    load_after = os.getloadavg()
    app, floor = median(app_times), median(floor_times)
    runs_text = f"median of {len([t for t in app_times if t is not None])} rounds"
    for name, times, cmd in (("first paint: dtle-tui, pty 80x24", app_times, report.command("paint", shown(app_cmd))),
                             ("first paint: minimal Textual DataTable app", floor_times,
                              report.command("floor", shown(floor_cmd))),
                             ("first paint: the minimal app, its row over httpx", http_times,
                              report.command("floor+http", shown(http_cmd)))):
        report.add(Figure(name, "10 jobs" if times is app_times else "-", spread_ms(times), runs=runs_text, cmd=cmd))
    report.add(
        Figure(
            "first paint ratio dtle-tui / minimal",
            "10 jobs",
            _ratio(app_times, floor_times),
            "<= 1.5x",
            verdict_max(app / floor if app and floor else None, 1.5),
            runs=runs_text,
            cmd="paint/floor",
        )
    )
    # Where the time over the floor goes: the HTTP stack the console must use, then dtle-tui itself.
    report.add(Figure("  of which httpx+httpcore+anyio: (minimal over httpx) / minimal", "-",
                      _ratio(http_times, floor_times), runs=runs_text, cmd="floor+http/floor"))
    report.add(Figure("  of which dtle-tui itself: dtle-tui / (minimal over httpx)", "10 jobs",
                      _ratio(app_times, http_times), runs=runs_text, cmd="paint/floor+http"))
    report.add(
        Figure(
            "  load average during first paint (1 min)",
            "-",
            f"{load_before[0]:.2f} -> {load_after[0]:.2f} on {os.cpu_count()} cores",
            runs="before -> after",
        )
    )


def _ratio(tops: List[Optional[float]], bottoms: List[Optional[float]]) -> str:
    """Ratio of the medians, then the per-round ratios (min / median / max) as its spread."""
    top, bottom = median(tops), median(bottoms)
    if not top or not bottom:
        return "n/a"
    rounds = sorted(a / b for a, b in zip(tops, bottoms) if a and b)
    return f"{top / bottom:.2f}x (per round {rounds[0]:.2f} / {median(rounds):.2f} / {rounds[-1]:.2f})"
