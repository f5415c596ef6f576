"""The measurements. Each returns Figures for the one table; the children are always killed (try/finally)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from bench.patience import patient
from bench.ptyrun import PtyProcess, proc_rss_mb
from bench.report import Figure, Report, median, spread_ms, verdict_max
from bench.sim_control import BenchSim

ROOT = Path(__file__).resolve().parent.parent
CTRL_R = b"\x12"
# Below this per second the terminal counts as settled (an idle trickle, not a table repaint).
SETTLED_BYTES_PER_S = 2000
# One filter keystroke each: a digit keeps about a tenth of the scale cluster's jobs (mig-00000 …).
FILTER_CHARS = "7319"


@dataclass
class Plan:
    """How long and how often; `full` is what `make bench` runs, the others shorten it."""

    sizes: Sequence[int] = (10, 1000, 5000)
    # Nomad 0.11 has no event stream: a change re-reads the whole lists (issue 15). Its headless figures
    # are taken at every size; its pty session (idle bytes and requests) at the smallest and largest.
    dialects: Sequence[str] = ("1.1", "0.11")
    paint_runs: int = 9  # interleaved pairs (at least 7, issue 15)
    idle_seconds: float = 60.0  # bytes to the terminal: issue 15 wants 0 over 60 s
    idle_request_seconds: float = 130.0  # requests: two whole 60 s blocking waits (plus Nomad's jitter)
    refresh_runs: int = 3  # ctrl+r and poll cycles on the pty, per size
    cpu_refreshes: int = 5  # poll cycles in the headless app, per size
    presses: int = 5  # per key, per condition
    latency_size: int = 5000
    slow_latency: float = 10.0
    soak_seconds: float = 600.0
    soak_sample: float = 10.0
    profile_dir: str = ""

    @classmethod
    def named(cls, name: str) -> Plan:
        if name == "quick":
            return cls(
                paint_runs=7,
                idle_seconds=10.0,
                idle_request_seconds=30.0,
                refresh_runs=2,
                cpu_refreshes=3,
                presses=3,
                soak_seconds=60.0,
                soak_sample=5.0,
            )
        if name == "tiny":  # the smoke test: everything once, at 10 jobs, in seconds
            return cls(
                sizes=(10,),
                paint_runs=1,
                idle_seconds=1.0,
                idle_request_seconds=1.0,
                refresh_runs=1,
                cpu_refreshes=1,
                presses=1,
                latency_size=10,
                slow_latency=1.0,
                soak_seconds=2.0,
                soak_sample=1.0,
            )
        return cls()


class Env:
    """A clean environment for the children: no real cluster addresses or tokens, a private XDG home."""

    def __init__(self) -> None:
        self.home = tempfile.mkdtemp(prefix="dtle-tui-bench-")
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("NOMAD_", "CONSUL_", "DTLE_TUI_", "XDG_", "TEXTUAL"))
        }
        env.update(
            HOME=self.home,
            XDG_CONFIG_HOME=f"{self.home}/config",
            XDG_STATE_HOME=f"{self.home}/state",
            PYTHONPATH=str(ROOT),
            PYTHONDONTWRITEBYTECODE="1",
            NO_PROXY="127.0.0.1",
            no_proxy="127.0.0.1",
        )
        for k in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
            env.pop(k, None)
        self.vars = env

    def close(self) -> None:
        shutil.rmtree(self.home, ignore_errors=True)


def python() -> str:
    return sys.executable


def cli_argv(sim: BenchSim) -> List[str]:
    script = Path(sys.executable).parent / "dtle-tui"
    head = [str(script)] if script.exists() else [python(), "-m", "dtle_tui"]
    return head + ["--nomad-addr", sim.nomad_addr, "--consul-addr", sim.consul_addr]


def shown(argv: Sequence[str]) -> List[str]:
    """A command as a reader can rerun it: relative to the repo, ports as placeholders."""
    out = []
    for a in argv:
        a = a.replace(str(ROOT) + "/", "")
        if a.startswith("http://127.0.0.1:"):
            a = "http://127.0.0.1:PORT"
        out.append(a)
    return out


def needle_for(job_id: str) -> str:
    # At 80 columns the ID column is 14 cells wide: a longer ID is cut, so look for its start.
    return job_id[:12]


# ---- 2.+3. the real CLI on a pty: idle bytes, idle requests, requests per refresh --------------------
def terminal_session(report: Report, plan: Plan, env: Env, size: int, dialect: str = "1.1") -> Dict[str, float]:
    out: Dict[str, float] = {}
    with BenchSim(size, frozen=True, dialect=dialect) as sim:
        ids = sim.job_ids()
        allocs = sim.allocation_count()
        cmd = cli_argv(sim)
        label = f"{size} jobs" if size != 5000 else f"{size} jobs/{allocs} allocs"
        label += "" if dialect == "1.1" else f", Nomad {dialect}"
        with PtyProcess(cmd, env=env.vars) as proc:
            painted = proc.wait_for_text(needle_for(ids[0]), timeout=patient(180))
            if painted is None:
                raise RuntimeError(f"dtle-tui never painted {ids[0]!r} at {size} jobs:\n" + proc.output_text()[-1500:])
            _settle(sim, proc)
            startup = {s: sim.requests(s) for s in ("nomad", "consul")}
            # idle: nothing changes in a frozen cluster
            sim.reset_requests()
            t0 = time.perf_counter()
            time.sleep(plan.idle_seconds)
            chunks = proc.bytes_between(t0, t0 + plan.idle_seconds)
            idle_bytes = sum(n for _, n in chunks)
            per_second = _per_second(chunks, t0, plan.idle_seconds)
            updates = _updates(chunks)
            time.sleep(max(0.0, plan.idle_request_seconds - (time.perf_counter() - t0)))
            t1 = time.perf_counter()
            idle_req = {s: sim.requests(s) * 60.0 / (t1 - t0) for s in ("nomad", "consul")}
            # one ctrl+r
            ctrl_r = []
            for _ in range(plan.refresh_runs):
                sim.reset_requests()
                proc.write(CTRL_R)
                _settle(sim, proc, quiet=2.0)
                ctrl_r.append(sim.requests())
            # one poll cycle: one allocation changes
            cycle = []
            for _ in range(plan.refresh_runs):
                sim.reset_requests()
                sim.change_one()
                _settle(sim, proc, quiet=2.0)
                cycle.append(sim.requests())
            rss, peak = proc_rss_mb(proc.pid)
    ref = report.command(f"pty{size}" + ("" if dialect == "1.1" else f"-{dialect}"), shown(cmd))
    idle_secs = f"1 x {plan.idle_seconds:g} s"
    req_secs = f"1 x {plan.idle_request_seconds:g} s"
    report.add(
        Figure(
            "requests to first full load (Nomad+Consul)",
            label,
            f"{startup['nomad']}+{startup['consul']}",
            runs="1",
            cmd=ref,
        )
    )
    report.add(Figure("idle requests/min Nomad", label, f"{idle_req['nomad']:.1f}", runs=req_secs, cmd=ref))
    report.add(Figure("idle requests/min Consul", label, f"{idle_req['consul']:.1f}", runs=req_secs, cmd=ref))
    report.add(
        Figure(
            "requests per ctrl+r",
            label,
            _num(median(ctrl_r)),
            "same at 10 and 5000",
            runs=f"median of {plan.refresh_runs}",
            cmd=ref,
        )
    )
    report.add(
        Figure(
            "requests per poll cycle (1 alloc changed)",
            label,
            _num(median(cycle)),
            "same at 10 and 5000",
            runs=f"median of {plan.refresh_runs}",
            cmd=ref,
        )
    )
    # Issue 6 allowed one small status update a second (judged per update, a burst of writes less than
    # 100 ms apart); issue 15 wants nothing at all while nothing changes.
    report.add(
        Figure(
            "idle bytes/s to the terminal",
            label,
            f"{idle_bytes / plan.idle_seconds:.1f} B/s ({idle_bytes} B in {plan.idle_seconds:g} s,"
            f" {len(updates)} updates, largest {max(updates, default=0)} B,"
            f" max {max(per_second, default=0)} B in a 1 s bucket)",
            f"0 B over {plan.idle_seconds:g} s",
            "ok" if idle_bytes == 0 else f"MISS (+{idle_bytes} B)",
            runs=idle_secs,
            cmd=ref,
        )
    )
    report.add(
        Figure("RSS after load+refreshes, pty (peak)", label, f"{rss:.0f} MB ({peak:.0f} MB)", runs="1", cmd=ref)
    )
    out.update(ctrl_r=median(ctrl_r) or 0, cycle=median(cycle) or 0, painted=painted)
    return out


def _settle(sim: BenchSim, proc: PtyProcess, quiet: float = 1.5, timeout: float = 60.0) -> None:
    """Until no request for `quiet` seconds and the terminal is back to its idle trickle.

    The idle trickle (a status clock, a scrollbar repainted with it) is measured separately; a repaint
    of the table after new data is several kB within a second.
    """
    deadline = time.monotonic() + timeout
    last, since = sim.requests(), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.1)
        now = sim.requests()
        if now != last:
            last, since = now, time.monotonic()
            continue
        t = time.perf_counter()
        recent = sum(n for _, n in proc.bytes_between(t - 1.0, t + 1))
        if time.monotonic() - since >= quiet and recent <= SETTLED_BYTES_PER_S:
            return


def _updates(chunks, gap: float = 0.1) -> List[int]:
    """Bytes per screen update: writes less than `gap` seconds apart are one update (one frame may take
    several writes)."""
    out: List[int] = []
    last = None
    for t, n in chunks:
        if last is not None and t - last < gap:
            out[-1] += n
        else:
            out.append(n)
        last = t
    return out


def _per_second(chunks, start: float, seconds: float) -> List[int]:
    buckets = [0] * max(1, int(round(seconds)))
    for t, n in chunks:
        i = min(len(buckets) - 1, int(t - start))
        buckets[i] += n
    return buckets


# ---- 4.+5. the real DtleApp headless in a child: CPU per refresh, RSS, keystroke latency ---------------
def app_session(report: Report, plan: Plan, env: Env, size: int, modes: str, dialect: str = "1.1") -> None:
    with BenchSim(size, frozen=True, dialect=dialect) as sim:
        ids = sim.job_ids()
        label = f"{size} jobs" + ("" if dialect == "1.1" else f", Nomad {dialect}")
        cmd = [
            python(),
            "-m",
            "bench.app_worker",
            "--nomad-addr",
            sim.nomad_addr,
            "--consul-addr",
            sim.consul_addr,
            "--expect-rows",
            str(len(ids)),
            "--modes",
            modes,
            "--refreshes",
            str(plan.cpu_refreshes),
            "--presses",
            str(plan.presses),
            "--filter-chars",
            FILTER_CHARS,
        ]
        if plan.profile_dir:
            cmd += ["--profile", os.path.join(plan.profile_dir, f"refresh-{size}")]
        ref = report.command(f"headless-{modes.replace(',', '+')}-{size}" + ("" if dialect == "1.1" else f"-{dialect}"),
                             shown(cmd))
        results = _drive_worker(cmd, env, sim, plan)
    for res in results:
        if "error" in res:
            report.notes.append(f"{label} headless: {res['error']}")
    cpu = next((r for r in results if r.get("result") == "cpu"), None)
    if cpu is not None:
        per = median(cpu["cpu_s"])
        # Issue 6's 50 ms is for a change that comes by the event stream (1.1); on 0.11 every change
        # re-reads the lists: reported, no target (issue 15).
        judged = size >= 5000 and dialect == "1.1"
        target = "<= 50 ms" if judged else ""
        verdict = verdict_max(per * 1000 if per is not None else None, 50) if judged else ""
        runs = f"median of {len(cpu['cpu_s'])}"
        report.add(
            Figure("CPU per refresh (fetch+parse+diff+render)", label, _ms(per), target, verdict, runs=runs, cmd=ref)
        )
        report.add(
            Figure("wall time per refresh (change -> painted)", label, _ms(median(cpu["wall_s"])), runs=runs, cmd=ref)
        )
        report.add(Figure("  of which garbage collection (CPU)", label, _ms(cpu.get("gc_s")), runs="mean", cmd=ref))
        report.add(Figure("  snapshots painted per refresh", label, _num(median(cpu["snapshots"])), runs=runs, cmd=ref))
        peak = cpu["peak_rss_mb"]
        report.add(
            Figure(
                "peak RSS (headless 200x50)",
                label,
                f"{peak:.0f} MB",
                "<= 150 MB" if size >= 5000 else "",
                verdict_max(peak, 150) if size >= 5000 else "",
                runs="1",
                cmd=ref,
            )
        )
    for dec in (r for r in results if r.get("result") == "decode"):
        during = dec["during"]
        value = median(during)
        worst = max(during) if during else None
        report.add(
            Figure(
                "key->screen: cursor move while a list decode is under way",
                label,
                _ms(value) + (f" (max {worst * 1000:.1f} ms)" if worst is not None else ""),
                "<= 50 ms",
                verdict_max(value * 1000 if value is not None else None, 50),
                runs=f"median of {len(during)} keys",
                cmd=ref,
            )
        )
        report.add(
            Figure(
                "  list answers read+decoded per change (first chunk -> end)",
                label,
                _ms(median(dec["decode_s"])),
                runs=f"median of {len(dec['decode_s'])} answers",
                cmd=ref,
            )
        )
    for lat in (r for r in results if r.get("result") == "latency"):
        cond = "API answers in 10 s" if lat["label"] == "slow" else "normal"
        if lat["label"] == "slow" and plan.slow_latency != 10.0:
            cond = f"API answers in {plan.slow_latency:g} s"
        for key, name in (("cursor", "cursor move"), ("filter", "filter keystroke"), ("detail", "open Job detail")):
            value = median(lat[key])
            report.add(
                Figure(
                    f"key->screen: {name} ({cond})",
                    label,
                    spread_ms(lat[key]),
                    "<= 50 ms",
                    verdict_max(value * 1000 if value is not None else None, 50),
                    runs=f"median of {len(lat[key])}",
                    cmd=ref,
                )
            )


def _drive_worker(cmd: List[str], env: Env, sim: BenchSim, plan: Plan) -> List[dict]:
    results: List[dict] = []
    proc = subprocess.Popen(
        cmd,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env.vars,
        cwd=str(ROOT),
        text=True,
        start_new_session=True,
    )
    try:
        assert proc.stdout is not None and proc.stdin is not None
        for line in proc.stdout:
            try:
                msg = json.loads(line)
            except ValueError:
                continue
            need = msg.get("need")
            if need == "change":
                sim.change_one()
            elif need == "slow":
                sim.set_latency(plan.slow_latency)
            elif need == "fast":
                sim.set_latency(0.0)
            if need:
                proc.stdin.write("ok\n")
                proc.stdin.flush()
            else:
                results.append(msg)
        proc.wait(timeout=patient(30))
        if proc.returncode != 0 or not results:
            err = proc.stderr.read() if proc.stderr else ""
            results.append({"error": f"worker exited {proc.returncode}: {err[-1500:]}"})
    finally:
        _kill(proc)
        sim.set_latency(0.0)
    return results


def _kill(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, 9)
        except ProcessLookupError:
            pass
        proc.wait(timeout=10)


def _ms(seconds: Optional[float]) -> str:
    return "n/a" if seconds is None else f"{seconds * 1000:.1f} ms"


def _num(value: Optional[float]) -> str:
    return "n/a" if value is None else f"{value:g}"
