"""Agents that come back as a different cluster at the same address (issue 16).

A `-dev` Nomad or Consul agent keeps its state in memory only: killed and started again it answers with
empty tables and indexes that start low again. Operators meet the same on a restored snapshot or a
load balancer switched to another cluster. What comes back here:

- Nomad: the port refuses connections for a moment (held queries and event streams drop), then the
  nodes register again under new IDs, and the jobs that were not stopped are registered again (as a
  deploy script would), with new allocations; every index starts from 1.
- Consul: no keys at all, the index back at the start; the running dtle tasks write their positions
  again on their next beat (dtle.md §3), so only what dtle keeps writing comes back.
"""

from __future__ import annotations

import copy

from . import register as reg


def restart_nomad(cluster) -> None:
    faults = cluster.nomad_faults
    state = cluster.state
    # Under the state's lock throughout: no answer is built from a half-restarted cluster, and none
    # from the new one before the port is open again.
    with state.lock:
        was_down = faults.down
        faults.down = True  # the agent stops: connections, held queries and streams drop
        try:
            specs = [copy.deepcopy(record.job) for _id, record in sorted(state.jobs.items())
                     if not record.job.get("Stop")]
            state.forget()
            cluster.scenario.add_nodes()
            for job in specs:
                job.update(Status="pending", StatusDescription="", Stable=False)
                reg.register(state, cluster.driver, job, cluster.node_for)
        finally:
            faults.down = was_down


def restart_consul(cluster) -> None:
    faults = cluster.consul_faults
    was_down = faults.down
    faults.down = True
    try:
        cluster.kv.forget()
    finally:
        faults.down = was_down
