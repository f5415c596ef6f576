"""Job detail's summary and dtle panel from the verbatim answers of a real dtle 3.21.11.0 in a real Nomad
1.1.2 (tests/fixtures/real-dtle): the open job's view (live/openjob.py) as the summary and the panel show it
(issue 22 items 1 and 2)."""

from __future__ import annotations

import json

import pytest

from dtle_tui.live.openjob import OpenJob
from dtle_tui.live.snapshot import Snapshot
from dtle_tui.live.store import NomadStore
from dtle_tui.model.monitor import TaskReading, job_progress, meaningful_figures, parse_task_monitor
from dtle_tui.text import clock
from dtle_tui.widgets.dtle_progress import panel_text
from dtle_tui.widgets.job_summary import summary_text
from tests.unit.test_verdict import DTLE, S, dtle_job

ZERO = DTLE / "10_dtle_v2_monitor_task__allocation_id=7967484b-399b-9707-b62f-64dbbf2f1c34_task_name=src.json"


@pytest.fixture(autouse=True)
def unfreeze():
    yield
    clock.freeze(None)


def open_view(job_id: str, whole: bool = True):
    stub, allocs, now = dtle_job(job_id)
    store = NomadStore()
    store.jobs[stub.id] = stub
    for alloc in allocs:
        store.put_allocation(alloc)
    job = OpenJob(None, store, 1.0)
    job.job_id = job_id
    if whole:
        job.allocations = allocs
    clock.freeze(now / S)
    return job.view(None, now=now / S), now


def test_a_crash_looping_job_reads_failing_first_with_no_stage_reached():
    detail, _now = open_view("maria")
    text = summary_text(detail, Snapshot(), "").plain
    lines = text.splitlines()
    assert lines[0].startswith("maria  FAILING — restarting in 8m (4 restarts), last error: src: Error 1193: "
                               "Unknown system variable 'GTID_MODE'")
    assert lines[1].startswith("Reached no stage yet")
    stages = next(line for line in lines if line.startswith("Stages "))
    # The dest's job_stage_full of every start, milliseconds before it failed: one step, not reached.
    assert stages.count("full") == 1 and "full ×" in stages and "not reached" in stages
    assert "running  full" not in text and "full since" not in text


def test_the_list_s_slim_allocations_give_no_verdict():
    """Until the job's own allocations are read, the list's (stage events kept, failures dropped) would
    say "full" of a dest that failed at once: no verdict, no stage yet."""
    detail, _now = open_view("maria", whole=False)
    assert detail.verdict is None
    assert "Reached reading the allocations" in summary_text(detail, Snapshot(), "").plain


def test_the_zero_answer_of_a_src_never_connected_is_one_line_with_the_reason():
    detail, now = open_view("closed")
    verdict = detail.verdict
    assert verdict.kind.value == "failing" and verdict.task == "dest"
    src = TaskReading("src", parse_task_monitor(json.loads(ZERO.read_text())))
    progress = job_progress("", src, TaskReading("dest", error="dtle API answered 500: can not find the task"))
    # The snapshot keeps the JobProgress only: what the tasks said travels with it.
    assert (progress.src_said, progress.dest_said) == ("zero", "")
    why = f"{verdict.task} fails: {verdict.last_error}"
    view = meaningful_figures(progress, stage_reached="", src_running=True, dest_running=False, why=why)
    text = panel_text(view.progress, "nodes", True, view.statement).plain
    assert text == "dtle has not started copying: dest fails: dial tcp 127.0.0.1:3399: connect: connection refused"
    assert "0.0 %" not in text and "N/A" not in text and "%" not in text
