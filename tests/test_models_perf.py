"""A refresh parses 5,000 jobs and 15,000 allocations; keep that cheap (bounds are ~7x what a 2-core VM
takes, so only a real regression fails)."""

from __future__ import annotations

import json
import time
from pathlib import Path

from dtle_tui.models import detect_stage, parse_allocations, parse_job_stubs

BASE = Path(__file__).parent / "fixtures" / "real-nomad" / "1.1.2"


def _data():
    jobs = json.loads((BASE / "jobs.json").read_text())
    allocs = json.loads((BASE / "allocations.json").read_text())
    job_list = [dict(jobs[i % len(jobs)], ID=f"job-{i}") for i in range(5000)]
    alloc_list = [dict(allocs[i % len(allocs)], ID=f"{i:08d}-0000-0000-0000-000000000000", JobID=f"job-{i // 3}")
                  for i in range(15000)]
    return job_list, alloc_list


def _best(fn, runs: int = 3) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def test_refresh_parse_budget():
    job_list, alloc_list = _data()
    cold = _best(lambda: (parse_job_stubs(job_list), parse_allocations(alloc_list)))
    assert cold < 0.5, f"cold parse took {cold * 1000:.0f} ms"
    stubs = {j.id: j for j in parse_job_stubs(job_list)}
    allocs = parse_allocations(alloc_list)
    by_id = {a.id: a for a in allocs}
    warm = _best(lambda: (parse_job_stubs(job_list, reuse=stubs), parse_allocations(alloc_list, reuse=by_id)))
    assert warm < 0.1, f"parse with reuse took {warm * 1000:.0f} ms"
    per_job: dict[str, list] = {}
    for a in allocs:
        per_job.setdefault(a.job_id, []).append(a)
    stages = _best(lambda: [detect_stage(v) for v in per_job.values()])
    assert stages < 0.1, f"stage detection took {stages * 1000:.0f} ms"
