"""Issue 26, item 8: memory over a task's MemoryMB says plainly whether anything enforces the limit.

The driver tells by what it measures (MemoryStats.Measured): RSS alone (dtle's driver: ["RSS"]; the
recorded agents' tasks: ["RSS", "Swap"], verbatim below) means no memory cgroup holds the task, so nothing
kills it at MemoryMB; cgroup figures beside RSS (Usage, Max Usage, …) mean the kernel does.
"""

from __future__ import annotations

import copy

import pytest

from dtle_tui.live.troubleview import AllocStats
from dtle_tui.model.allocations import parse_allocation
from dtle_tui.model.stats import MIB, parse_alloc_stats
from dtle_tui.widgets.resources import limit_enforced, resources_text
from tests.unit.test_troubleshoot_models import DIALECTS, body


def answer(dialect: str, rss_mib: int, measured=None) -> dict:
    """The verbatim stats answer of a real dest task, its RSS (and Measured, when given) replaced."""
    data = copy.deepcopy(body(dialect, "stats/alloc_stats_real-ok_dest"))
    mem = data["Tasks"]["dest"]["ResourceUsage"]["MemoryStats"]
    mem["RSS"] = rss_mib * MIB
    if measured is not None:
        mem["Measured"] = measured
    return data


def shown(dialect: str, rss_mib: int, measured=None) -> str:
    alloc = parse_allocation(body(dialect, "alloc-actions/restart_00_alloc_before"))  # MemoryMB 32
    assert dict(alloc.memory_mb) == {"dest": 32} and alloc.client_status == "running"
    stats = AllocStats(alloc.id, parse_alloc_stats(answer(dialect, rss_mib, measured)))
    return resources_text([alloc], {alloc.id: stats}).plain


@pytest.mark.parametrize("dialect", DIALECTS)
def test_over_a_limit_the_driver_does_not_enforce(dialect):
    text = shown(dialect, 46)  # 46 MiB of 32: 144%
    assert "144%" in text and "over MemoryMB, which this driver does not enforce (it reports RSS only)" in text
    assert "near its limit" not in text
    assert "does not enforce" in shown(dialect, 46, ["RSS"])  # dtle's own driver


@pytest.mark.parametrize("dialect", DIALECTS)
def test_a_cgroup_limit_is_said_to_kill(dialect):
    cgroup = ["RSS", "Cache", "Swap", "Usage", "Max Usage", "Kernel Usage", "Kernel Max Usage"]
    assert "near its limit: OOM-killed at it" in shown(dialect, 30, cgroup)
    assert "at its limit: the kernel kills it there (OOM)" in shown(dialect, 33, cgroup)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_below_the_warning_nothing_is_said_and_unknown_stays_unknown(dialect):
    assert "limit" not in shown(dialect, 10) and "MemoryMB" not in shown(dialect, 10)
    assert limit_enforced(()) is None and limit_enforced(["RSS", "Swap"]) is False
    assert limit_enforced(["RSS", "Usage"]) is True


@pytest.mark.parametrize("dialect", DIALECTS)
def test_an_answer_that_does_not_say_what_it_measured_claims_nothing(dialect):
    text = shown(dialect, 46, [])
    assert "over its MemoryMB" in text and "enforce" not in text and "OOM" not in text
