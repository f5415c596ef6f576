"""Property tests: the parsers meet mutated fixtures (dropped keys, nulls, swapped types, junk keys) and
never raise anything but ParseError, and what they return is well typed."""

from __future__ import annotations

import dataclasses
import json
import random
from datetime import datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dtle_tui.model.allocations import Allocation, parse_allocation, parse_allocations
from dtle_tui.model.jobs import Job, JobStub, parse_job, parse_job_stubs
from dtle_tui.model.nodes import Node, parse_nodes
from dtle_tui.model.stage import Stage, StageInfo, detect_stage, stage_timeline
from dtle_tui.model.wire import ParseError
from tests.helpers.paths import FIXTURES

FIX = FIXTURES
REF = FIX / "reference"


def _cases() -> list[tuple[str, object]]:
    cases = [
        ("stubs", REF / "nomad_jobs_list.json"), ("stubs", REF / "nomad_jobs_list_docs_minimal.json"),
        ("job", REF / "nomad_job.json"), ("job", REF / "dtle_job_example.json"),
        ("job", REF / "dtle4_job_example.json"), ("allocs", REF / "nomad_allocations_list.json"),
        ("allocs", REF / "nomad_job_allocations.json"), ("alloc", REF / "nomad_allocation.json"),
        ("nodes", REF / "nomad_nodes.json"),
    ]
    for dialect in ("0.11.1", "1.1.2"):
        base = FIX / "real-nomad" / dialect
        cases += [("stubs", base / "jobs.json"), ("allocs", base / "job_allocations" / "real-fail.json"),
                  ("job", base / "job" / "real-fail.json"), ("nodes", base / "nodes.json")]
        cases += [("alloc", p) for p in sorted((base / "allocation").glob("*.json"))[:3]]
        cases += [("nodes", p) for p in (base / "node").glob("*.json")]
    return [(kind, json.loads(path.read_text())) for kind, path in cases]


CASES = _cases()

JUNK = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70), st.floats(),
    st.text(max_size=8), st.sampled_from(["", "0001-01-01T00:00:00Z", "job_stage_incr", "12", "dest", "run"]),
    st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


class Mutation:
    """How one example mutates a fixture. Hypothesis draws the rates and a pool of junk values; a seeded
    random.Random makes the thousands of per-key decisions of a big fixture (one Hypothesis draw per key
    cost about 40 ms an example). The seed is part of the example, so a failure replays."""

    def __init__(self, rng: random.Random, junk: list, rates: tuple[int, int, int, int, int]) -> None:
        self.rng, self.junk = rng, junk
        self.null, self.swap, self.as_str, self.drop, self.add = rates  # each: 1 in N

    def hit(self, one_in: int) -> bool:
        return self.rng.randrange(one_in) == 0

    def __call__(self, value: object) -> object:
        if self.hit(self.null):
            return None
        if self.hit(self.swap):
            return self.rng.choice(self.junk)
        if isinstance(value, dict):
            out = {k: self(v) for k, v in value.items() if not self.hit(self.drop)}
            if self.hit(self.add):
                out[self.rng.choice(["", "ID", "Status", "\x1b[31m", "junk"])] = self.rng.choice(self.junk)
            return out
        if isinstance(value, list):
            return [self(v) for v in value]
        if isinstance(value, (int, float)) and not isinstance(value, bool) and self.hit(self.as_str):
            return str(value)  # ints as strings, like the doc sample's Delay
        return value


# 1 in N for: null, a junk value, a number as a string, a dropped key, an added key. Small N: a fixture
# in shreds; large N: one or two changes in a real answer.
RATES = st.tuples(*(st.integers(2, 40) for _ in range(5)))


_SCALAR = {"str": str, "int": int, "bool": bool, "float": float}


def check_types(obj: object) -> None:
    """Every field declared str/int/bool holds exactly that; nested objects are checked too."""
    if dataclasses.is_dataclass(obj):
        for f in dataclasses.fields(obj):
            value = getattr(obj, f.name)
            wanted = _SCALAR.get(f.type)
            if wanted is not None:
                assert type(value) is wanted, (type(obj).__name__, f.name, value)
            elif f.type.startswith("Optional[datetime]"):
                assert value is None or isinstance(value, datetime)
            elif f.type.startswith("tuple[str"):
                assert isinstance(value, tuple) and all(type(x) is str for x in value)
            elif f.type.startswith("dict[str, str]"):
                assert all(type(k) is str and type(v) is str for k, v in value.items())
            check_types(value)
    elif isinstance(obj, (tuple, list)):
        for x in obj:
            check_types(x)
    elif isinstance(obj, dict):
        for x in obj.values():
            if dataclasses.is_dataclass(x):
                check_types(x)


def exercise_alloc(a: Allocation) -> None:
    assert isinstance(a, Allocation)
    check_types(a)
    for t in a.task_states:
        assert t.last_error is None or isinstance(t.last_error, str)
        for e in t.events:
            assert isinstance(e.text, str) and (e.time is None or isinstance(e.time, datetime))
    assert a.error_text is None or isinstance(a.error_text, str)
    assert isinstance(a.restarts, int) and isinstance(a.short_id, str) and isinstance(a.is_terminal, bool)
    assert a.create_time is None or isinstance(a.create_time, datetime)


def run(kind: str, value: object) -> None:
    if kind == "stubs":
        for j in parse_job_stubs(value):
            assert isinstance(j, JobStub) and isinstance(j.display_status, str)
            check_types(j)
    elif kind == "job":
        job = parse_job(value)
        assert isinstance(job, Job)
        check_types(job)
        for end in (job.endpoints.src, job.endpoints.dest):
            assert end is None or isinstance(end.describe(), str)
            check_types(end)
    elif kind in ("allocs", "alloc"):
        allocs = parse_allocations(value) if kind == "allocs" else [parse_allocation(value)]
        for a in allocs:
            exercise_alloc(a)
        info = detect_stage(allocs)
        assert isinstance(info, StageInfo) and isinstance(info.stage, Stage)
        assert info.since_ns is None or type(info.since_ns) is int
        for t, s, alloc_id in stage_timeline(allocs):
            assert type(t) is int and isinstance(s, Stage) and isinstance(alloc_id, str)
    else:
        for n in parse_nodes(value):
            assert isinstance(n, Node) and isinstance(n.dtle_version, str)
            check_types(n)


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(case=st.sampled_from(CASES), rng=st.randoms(use_true_random=True), junk=st.lists(JUNK, min_size=1, max_size=8),
       rates=RATES)
def test_mutated_fixtures_never_crash(case, rng, junk, rates):
    kind, value = case
    mutated = Mutation(rng, junk, rates)(value)
    try:
        run(kind, mutated)
    except ParseError:
        # Only a wrong top-level shape may raise.
        expected_list = kind in ("stubs", "allocs") or (kind == "nodes" and not isinstance(mutated, dict))
        assert not isinstance(mutated, list if expected_list else dict)


@settings(max_examples=200, deadline=None)
@given(kind=st.sampled_from(["stubs", "job", "allocs", "alloc", "nodes"]),
       value=st.recursive(JUNK, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
           st.sampled_from(["ID", "TaskStates", "Events", "Type", "Time", "TaskGroups", "Tasks", "Config",
                            "Drivers", "JobSummary", "Summary", "RescheduleTracker", "Job", "dest", "src"]),
           inner, max_size=4), max_leaves=20))
def test_random_json_never_crashes(kind, value):
    try:
        run(kind, value)
    except ParseError:
        pass


def test_unmutated_cases_all_parse():
    for kind, value in CASES:
        run(kind, value)
