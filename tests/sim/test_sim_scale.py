"""jobs=5000: 5,000 jobs and 15,000 allocations, served fast (bodies cached per table index)."""

from __future__ import annotations

import json
import time

import httpx

from dtle_tui.sim import SimCluster


def test_five_thousand_jobs():
    started = time.monotonic()
    with SimCluster(dialect="1.1", jobs=5000, frozen=True) as sim:
        built = time.monotonic() - started
        client = httpx.Client(base_url=sim.nomad_addr, timeout=60)
        t0 = time.monotonic()
        jobs_body = client.get("/v1/jobs").content
        allocs_body = client.get("/v1/allocations").content
        first = time.monotonic() - t0  # encoding 15,000 stubs once, plus the transfer
        t0 = time.monotonic()
        client.get("/v1/jobs")
        client.get("/v1/allocations")
        again = time.monotonic() - t0  # cached bodies: transfer only
        gtids = httpx.get(sim.consul_addr + "/v1/kv/dtle/", params={"keys": "", "separator": "/"}).json()
    assert len(json.loads(jobs_body)) == 5000 and len(json.loads(allocs_body)) == 15000 and len(gtids) == 5000
    assert built < 15, built
    assert first < 10, first
    assert again < 3 and again < first, (again, first)
