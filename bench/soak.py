"""Soak: RSS of the real CLI on a pty over a long run with the default scenario moving."""

from __future__ import annotations

import time

from bench.measure import Env, Plan, cli_argv, needle_for, shown
from bench.ptyrun import PtyProcess, proc_cpu_seconds, proc_rss_mb
from bench.report import Figure, Report
from bench.sim_control import BenchSim


def soak(report: Report, plan: Plan, env: Env) -> None:
    with BenchSim(None, frozen=False) as sim:
        ids = sim.job_ids()
        cmd = cli_argv(sim)
        with PtyProcess(cmd, env=env.vars) as proc:
            if proc.wait_for_text(needle_for(ids[0]), timeout=60) is None:
                raise RuntimeError("dtle-tui never painted the job list for the soak")
            time.sleep(min(5.0, plan.soak_seconds / 4))  # past start-up, so "start" is the steady state
            start_rss, _ = proc_rss_mb(proc.pid)
            cpu0, t0 = proc_cpu_seconds(proc.pid), time.monotonic()
            sim.reset_requests()
            samples = [start_rss]
            while time.monotonic() - t0 < plan.soak_seconds:
                time.sleep(min(plan.soak_sample, max(0.0, plan.soak_seconds - (time.monotonic() - t0))))
                samples.append(proc_rss_mb(proc.pid)[0])
            end_rss, peak = proc_rss_mb(proc.pid)
            cpu = proc_cpu_seconds(proc.pid) - cpu0
            elapsed = time.monotonic() - t0
            requests = sim.requests()
    growth = (end_rss / start_rss - 1) * 100 if start_rss else 0.0
    ref = report.command("soak", shown(cmd))
    label = f"default scenario, {len(ids)} jobs"
    runs = f"1 x {plan.soak_seconds:g} s"
    half = samples[len(samples) // 2]
    report.add(
        Figure(
            "soak RSS start -> half -> end (max)",
            label,
            f"{start_rss:.1f} -> {half:.1f} -> {end_rss:.1f} MB ({max(samples):.1f}), {growth:+.1f}%",
            "growth <= 5%",
            "ok" if growth <= 5 else f"MISS (+{growth - 5:.1f} pts)",
            runs=runs,
            cmd=ref,
        )
    )
    report.add(
        Figure("soak CPU while the scenario moves", label, f"{cpu / elapsed * 100:.1f}% of a core", runs=runs, cmd=ref)
    )
    report.add(
        Figure("soak requests/min (Nomad+Consul, moving)", label, f"{requests * 60 / elapsed:.0f}", runs=runs, cmd=ref)
    )
