"""`make bench` / `python -m bench`: issue 6's and issue 15's figures against the simulator, as one table.

How each figure is measured (the simulator always runs in threads of this process, on 127.0.0.1; the
app under test always in a child process, killed at the end whatever happens). Figures are as measured
on the machine at hand: on a shared machine they are noisy, so timings are medians with their spread.

1. first paint: the real CLI (`.venv/bin/dtle-tui --nomad-addr … --consul-addr …`, or `python -m
   dtle_tui` when the script is not installed) on a pseudo-terminal of 80x24, TERM=xterm-256color,
   against a frozen 10-job cluster; wall time from spawn until the first job ID arrives in the output
   (escape codes stripped). The floor is bench/minimal_app.py (one DataTable, one row) run the same way;
   a second floor, bench/minimal_http_app.py, is that app with its row read from Nomad over httpx (the
   HTTP stack the console must use), to show how much of the time is that stack's. One warm-up round,
   then 9 interleaved rounds of the three (the order turning); each is reported as median (min / max),
   the ratio of the medians to the floor is judged, and the per-round ratios (min / median / max) and
   the 1-minute load average before and after are shown. Our modules are byte-compiled first, as
   pip/pipx do at install (an editable install does not).
2. idle bytes/s: the same pty session, frozen cluster, after start-up settled: bytes read from the pty
   master over 60 s. Issue 15's target: 0 bytes (the blocking queries and Consul's held query answering
   unchanged inside the window must not repaint anything). Updates (writes < 100 ms apart) and the
   largest 1-second bucket are shown too.
3. requests: the simulator's request log. Idle: over 130 s (two whole 60 s blocking waits), scaled to a
   minute. Per refresh: requests in the 2 quiet seconds after one ctrl+r, and after one poll cycle (one
   allocation changes in the frozen cluster). At 10, 1,000 and 5,000 jobs (15,000 allocations) on Nomad
   1.1; at 10 and 5,000 on Nomad 0.11 (no event stream: the blocking queries answer).
4. CPU per refresh and peak RSS: the real DtleApp headless (`App.run_test(size=(200, 50))`, in
   bench/app_worker.py, a child process per size and dialect): process CPU (all threads) from the change
   in the simulator until the new snapshot is painted (on 0.11: after every list feed answered again),
   minus the idle CPU rate; the peak RSS of the child (VmHWM). On Nomad 1.1 and on 0.11, at every size.
5. key->screen: in the same child at 5,000 jobs, Pilot: perf_counter from the key event until the change
   is visible in the widgets and rendered; then again with every answer taking 10 s. On Nomad 0.11, at
   every size: cursor keys pressed one after the other while a change's re-read lists are decoded; only
   the keys whose handling (press to paint) overlapped the reading and decoding of an answer count
   (median, and the worst).
6. soak: the real CLI on a pty against the default (moving) scenario for 10 minutes: RSS at the start
   (5 s after the first paint) and at the end.

Every figure is printed beside the same figure of the last full run (bench/RESULTS.md, with its commit).
A full run (`make bench`) takes about 25 minutes. Flags: --quick (shorter runs, 10 s idle windows, a
1-minute soak: for development; does not write RESULTS.md), --tiny (the smoke test: 10 jobs, everything
once, seconds), --only NAMES, --sizes, --dialects, --profile DIR (cProfile of the refresh path, UI and
poller threads separately), --results PATH.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import List, Optional

from bench import measure, paint, soak
from bench.patience import TINY_PATIENCE
from bench.report import Figure, Report, previous_run, results_markdown

STEPS = ("paint", "terminal", "cpu", "latency", "decode", "soak")


def main(argv: Optional[List[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="shorter runs and a 1-minute soak")
    mode.add_argument("--tiny", action="store_true", help="smoke test: 10 jobs, everything once")
    p.add_argument("--only", default=",".join(STEPS), help=f"comma-separated subset of {','.join(STEPS)}")
    p.add_argument("--sizes", default="", help="job counts, e.g. 10,1000,5000")
    p.add_argument("--dialects", default="", help="Nomad dialects of the simulator, e.g. 1.1,0.11")
    p.add_argument("--soak-seconds", type=float, default=None)
    p.add_argument("--profile", default="", help="directory for cProfile dumps of the refresh path")
    p.add_argument(
        "--results",
        default=None,
        help="write the Markdown results here (default bench/RESULTS.md for a full run, nowhere for --quick/--tiny)",
    )
    args = p.parse_args(argv)

    name = "tiny" if args.tiny else "quick" if args.quick else "full"
    if args.tiny:  # the smoke test checks the table's shape, not speed: no deadline of a quiet machine
        os.environ.setdefault("BENCH_PATIENCE", str(TINY_PATIENCE))
    plan = measure.Plan.named(name)
    if args.sizes:
        plan.sizes = tuple(int(s) for s in args.sizes.split(","))
    if args.dialects:
        plan.dialects = tuple(d.strip() for d in args.dialects.split(",") if d.strip())
    if args.soak_seconds is not None:
        plan.soak_seconds = args.soak_seconds
    if args.profile:
        Path(args.profile).mkdir(parents=True, exist_ok=True)
        plan.profile_dir = args.profile
    steps = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(steps) - set(STEPS)
    if unknown:
        p.error(f"unknown step(s): {', '.join(sorted(unknown))}")

    command = "python -m bench" + (" " + " ".join(argv) if argv else "")
    report = Report(f"dtle-tui benchmark ({name} plan): {command}")
    report.previous = previous_run(Path(__file__).parent / "RESULTS.md")  # printed beside the new figures
    env = measure.Env()
    started = time.monotonic()
    try:
        run(report, plan, env, steps)
    finally:
        env.close()
    elapsed = time.monotonic() - started
    report.notes.append(f"took {elapsed:.0f} s")
    print(report.render(), flush=True)

    results = (
        args.results
        if args.results is not None
        else (str(Path(__file__).parent / "RESULTS.md") if name == "full" and args.only == ",".join(STEPS) else "")
    )
    if results:
        Path(results).write_text(
            results_markdown(report, ["make bench"] if not argv else [sys.executable, "-m", "bench", *argv], elapsed)
        )
        print(f"wrote {results}")
    return 0


def run(report: Report, plan: measure.Plan, env: measure.Env, steps: List[str]) -> None:
    t0 = time.monotonic()

    def progress(message: str) -> None:
        print(f"... [{time.monotonic() - t0:5.0f} s] {message}", file=sys.stderr, flush=True)

    if "paint" in steps:
        progress("first paint (real CLI and the minimal app on a pty)")
        paint.first_paint(report, plan, env)
    per_refresh = {}
    others = [d for d in plan.dialects if d != "1.1"]
    if "terminal" in steps:
        for size in plan.sizes if "1.1" in plan.dialects else ():
            progress(f"pty session at {size} jobs: idle bytes, idle requests, requests per refresh")
            per_refresh[size] = measure.terminal_session(report, plan, env, size)
        for dialect in others:
            for size in sorted({min(plan.sizes), max(plan.sizes)}):
                progress(f"pty session at {size} jobs, Nomad {dialect}: idle bytes, idle requests, requests "
                         "per refresh")
                measure.terminal_session(report, plan, env, size, dialect)
        if len(per_refresh) > 1:
            small, large = min(per_refresh), max(per_refresh)
            for key, name in (("ctrl_r", "ctrl+r"), ("cycle", "poll cycle")):
                a, b = per_refresh[small][key], per_refresh[large][key]
                report.add(
                    Figure(
                        f"requests per {name}: {small} vs {large} jobs",
                        "-",
                        f"{a:g} vs {b:g}",
                        "same",
                        "ok" if a == b else f"MISS ({b - a:+g})",
                        cmd=f"pty{small}/pty{large}",
                    )
                )
    for size in plan.sizes if "1.1" in plan.dialects else ():
        modes = []
        if "cpu" in steps:
            modes.append("cpu")
        if "latency" in steps and size == plan.latency_size:
            modes.append("latency")
        if modes:
            progress(f"headless app at {size} jobs: {', '.join(modes)}")
            measure.app_session(report, plan, env, size, ",".join(modes))
    for dialect in others:
        for size in plan.sizes:
            # Without the event stream every change re-reads the lists: CPU per change, and keys pressed
            # while such an answer is being decoded.
            modes = [m for m in ("cpu", "decode") if m in steps]
            if modes:
                progress(f"headless app at {size} jobs, Nomad {dialect}: {', '.join(modes)}")
                measure.app_session(report, plan, env, size, ",".join(modes), dialect)
    if "soak" in steps:
        progress(f"soak: {plan.soak_seconds:g} s with the scenario moving")
        soak.soak(report, plan, env)


if __name__ == "__main__":
    raise SystemExit(main())
