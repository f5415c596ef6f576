"""dtle's figures only when they mean something (issue 22 item 2), with dtle's recorded answers
(tests/fixtures/real-dtle/3.21.11.0) and the documented one (tests/fixtures/reference)."""

from __future__ import annotations

import json

from dtle_tui.model.monitor import (
    FiguresView,
    TaskReading,
    job_progress,
    meaningful_figures,
    parse_task_monitor,
)
from tests.helpers.paths import FIXTURES

ZERO = FIXTURES / "real-dtle" / "3.21.11.0" / \
    "10_dtle_v2_monitor_task__allocation_id=7967484b-399b-9707-b62f-64dbbf2f1c34_task_name=src.json"
DOCS = FIXTURES / "reference" / "dtle_v2_monitor_task_response_docs.json"
NOT_FOUND = "dtle API answered 500: can not find the task. allocation_id=d8d66383 task_name=dest"


def zero() -> TaskReading:
    return TaskReading("src", parse_task_monitor(json.loads(ZERO.read_text())))


def copying(task: str = "dest", **changes) -> TaskReading:
    body = json.loads(DOCS.read_text())
    body["tasks_status"].update(changes)
    return TaskReading(task, parse_task_monitor(body))


def test_the_recorded_zero_answer_is_one_statement_with_the_reason():
    src = zero()
    assert src.monitor.not_started and src.monitor.stage == ""
    dest = TaskReading("dest", error=NOT_FOUND)
    progress = job_progress("", src, dest)
    assert progress.percent == 0.0  # what the console showed as "full copy 0.0 % ETA N/A"
    why = "dest: dial tcp 127.0.0.1:3399: connect: connection refused, restarting in 8m"
    view = meaningful_figures(progress, src, dest, stage_reached="", src_running=True, dest_running=False, why=why)
    assert view == FiguresView(statement=f"dtle has not started copying: {why}")
    alone = meaningful_figures(progress, src, dest, stage_reached="", src_running=True, dest_running=False)
    assert alone.statement == "dtle has not started copying: its dest is not running"


def test_nothing_for_a_job_that_does_not_run():
    dest = copying()
    progress = job_progress("full", None, dest)
    view = meaningful_figures(progress, None, dest, stage_reached="full", src_running=False, dest_running=False)
    assert view == FiguresView()


def test_full_copy_figures_while_the_dest_copies():
    dest = copying(stage="Waiting for slave workers to process their queues", progress_PCT="57.3", ETA="3m0s",
                   backlog="3/16")
    progress = job_progress("full", None, dest)
    view = meaningful_figures(progress, None, dest, stage_reached="full", src_running=True, dest_running=True)
    assert view.progress is progress and view.progress.percent == 57.3 and view.progress.eta_text == "3m0s"


def test_no_full_copy_figures_past_the_full_copy_or_with_the_dest_down():
    dest = copying(stage="Waiting for GTID to be committed", progress_PCT="99.5", ETA="54s", backlog="2/96")
    progress = job_progress("full", None, dest)  # a stale stage label: the figures say 99.5 % and an ETA
    past = meaningful_figures(progress, None, dest, stage_reached="incr", src_running=True, dest_running=True)
    assert past.progress is not None
    assert (past.progress.percent, past.progress.eta_text, past.progress.rows_done) == (None, "", None)
    src = copying("src", stage="Sending data", progress_PCT="98.7", ETA="1m12s")
    stopped = meaningful_figures(job_progress("full", src, TaskReading("dest", error=NOT_FOUND)), src,
                                 TaskReading("dest", error=NOT_FOUND), stage_reached="full", src_running=True,
                                 dest_running=False)
    assert stopped.progress is not None and stopped.progress.percent is None and stopped.progress.eta_text == ""
    assert not any(note.startswith("from src") for note in stopped.progress.notes)


def test_the_delay_only_while_a_task_reports_a_stage():
    dest = copying(stage="Waiting for GTID to be committed", delay_count={"num": 0, "time": 4}, backlog="1/96")
    progress = job_progress("incr", None, dest)
    assert progress.delay_s == 4
    kept = meaningful_figures(progress, None, dest, stage_reached="incr", src_running=True, dest_running=True)
    assert kept.progress.delay_s == 4 and kept.progress.backlog == (1, 96)
    quiet = copying(stage="", delay_count={"num": 0, "time": 4}, progress_PCT="12.0", exec_master_row_count=5)
    progress = job_progress("incr", None, quiet)
    gone = meaningful_figures(progress, None, quiet, stage_reached="incr", src_running=True, dest_running=True)
    assert gone.progress.delay_s is None
