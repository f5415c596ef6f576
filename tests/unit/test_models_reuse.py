"""The refresh fast path: unchanged entries come back as the very same objects (timings live in bench/)."""

from __future__ import annotations

import copy
import json

from dtle_tui.model.allocations import parse_allocations
from dtle_tui.model.jobs import parse_job_stubs
from tests.helpers.paths import FIXTURES

BASE = FIXTURES / "real-nomad" / "1.1.2"


def test_unchanged_job_stubs_are_reused_and_changed_ones_reparsed():
    jobs = json.loads((BASE / "jobs.json").read_text())
    first = {s.id: s for s in parse_job_stubs(jobs)}
    changed = copy.deepcopy(jobs)
    changed[0]["ModifyIndex"] += 1
    changed[0]["Status"] = "pending"
    second = parse_job_stubs(changed, reuse=first)
    assert second[0] is not first[changed[0]["ID"]]
    assert second[0].status == "pending"
    assert all(s is first[s.id] for s in second[1:])


def test_unchanged_allocations_are_reused_and_changed_ones_reparsed():
    allocs = json.loads((BASE / "allocations.json").read_text())
    first = {a.id: a for a in parse_allocations(allocs)}
    changed = copy.deepcopy(allocs)
    changed[0]["ModifyIndex"] += 1
    changed[0]["ClientStatus"] = "lost"
    second = parse_allocations(changed, reuse=first)
    assert second[0] is not first[changed[0]["ID"]]
    assert second[0].client_status == "lost"
    assert all(a is first[a.id] for a in second[1:])


def test_keep_task_states_applies_only_to_allocations_parsed_anew():
    allocs = json.loads((BASE / "allocations.json").read_text())
    first = {a.id: a for a in parse_allocations(allocs)}
    changed = copy.deepcopy(allocs)
    changed[0]["ModifyIndex"] += 1
    seen = []

    def keep(states):
        seen.append(states)
        return {}

    second = parse_allocations(changed, reuse=first, keep_task_states=keep)
    assert len(seen) == 1 and second[0].task_states == ()
    assert all(a is first[a.id] for a in second[1:])
