"""jobs=5000: 5,000 jobs and 15,000 allocations, their list bodies built once and then served from the
cache per table index (how fast is bench/'s business: no test times it)."""

from __future__ import annotations

import json

from dtle_tui.sim import SimCluster
from tests.helpers import loopback


def test_five_thousand_jobs():
    with SimCluster(dialect="1.1", jobs=5000, frozen=True) as sim:
        builds: list = []
        cached = sim.state.cached

        def counting(key, build):
            return cached(key, lambda: builds.append(key) or build())

        sim.state.cached = counting
        client = loopback.Client(base_url=sim.nomad_addr, timeout=120)
        jobs_body = client.get("/v1/jobs").content
        allocs_body = client.get("/v1/allocations").content
        assert len(builds) == 2  # one body per list, encoded once
        assert client.get("/v1/jobs").content == jobs_body and client.get("/v1/allocations").content == allocs_body
        assert len(builds) == 2  # read again: served from the cache, nothing encoded
        gtids = loopback.get(sim.consul_addr + "/v1/kv/dtle/", params={"keys": "", "separator": "/"},
                             timeout=120).json()
    assert len(json.loads(jobs_body)) == 5000 and len(json.loads(allocs_body)) == 15000 and len(gtids) == 5000
