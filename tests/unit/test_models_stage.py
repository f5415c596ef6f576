"""Stage detection, built from the rule in reference dtle.md §5."""

from __future__ import annotations

from dtle_tui.model.allocations import parse_allocations
from dtle_tui.model.stage import Stage, StageInfo, detect_stage, stage_timeline

S = 1_000_000_000


def event(type_: str, t: int, driver_message: str = "") -> dict:
    # Shaped like the wire: Driver events carry DriverMessage = DisplayMessage, Message empty.
    return {"Type": type_, "Time": t, "Message": "", "DisplayMessage": driver_message,
            "DriverMessage": driver_message, "Details": {}}


def alloc(alloc_id: str, group: str = "dest", *, desired: str = "run", create_index: int = 10,
          events: list | None = None, task: str | None = None) -> dict:
    return {"ID": alloc_id, "JobID": "job1", "TaskGroup": group, "DesiredStatus": desired,
            "ClientStatus": "running", "CreateIndex": create_index,
            "TaskStates": {task or group: {"State": "running", "Events": events or []}}}


def stage(*allocs: dict) -> StageInfo:
    return detect_stage(parse_allocations(list(allocs)))


def test_full_then_incr():
    info = stage(alloc("a", events=[event("Started", 1 * S), event("Driver", 2 * S, "job_stage_full"),
                                    event("Driver", 3 * S, "job_stage_incr")]))
    assert info == StageInfo(Stage.INCREMENTAL, 3 * S, "a")
    assert info.since is not None and info.since.timestamp() == 3


def test_restart_goes_back_to_full():
    # job_stage_full is emitted at every (re)start of the dest task.
    info = stage(alloc("a", events=[event("Driver", 2 * S, "job_stage_full"), event("Driver", 3 * S, "job_stage_incr"),
                                    event("Restarting", 4 * S), event("Driver", 5 * S, "job_stage_full")]))
    assert info.stage is Stage.FULL and info.since_ns == 5 * S


def test_latest_by_time_not_by_list_order():
    events = [event("Driver", 9 * S, "job_stage_incr"), event("Driver", 2 * S, "job_stage_full")]
    info = stage(alloc("a", events=events))
    assert info.stage is Stage.INCREMENTAL and info.since_ns == 9 * S


def test_old_allocations_are_ignored():
    old = alloc("old", desired="stop", create_index=5, events=[event("Driver", 50 * S, "job_stage_incr")])
    current = alloc("new", create_index=20, events=[event("Driver", 10 * S, "job_stage_full")])
    assert stage(old, current) == StageInfo(Stage.FULL, 10 * S, "new")


def test_newest_create_index_wins_among_running():
    older = alloc("older", create_index=5, events=[event("Driver", 50 * S, "job_stage_incr")])
    newer = alloc("newer", create_index=20, events=[event("Driver", 10 * S, "job_stage_full")])
    assert stage(newer, older).event_alloc_id == "newer"


def test_src_events_ignored():
    src = alloc("s", group="src", events=[event("Driver", 9 * S, "job_stage_incr")])
    dest = alloc("d", events=[event("Driver", 2 * S, "job_stage_full")])
    assert stage(src, dest).stage is Stage.FULL
    assert stage(src).stage is Stage.UNKNOWN


def test_kafka_dest_emits_nothing():
    kafka = alloc("k", events=[event("Received", 1 * S), event("Task Setup", 2 * S), event("Started", 3 * S)])
    assert stage(kafka) == StageInfo(Stage.UNKNOWN, None, None)


def test_stage_event_pushed_out_of_last_10():
    # After restarts the client keeps only the last 10 events; no stage event left -> unknown.
    events = [event(t, i * S) for i, t in enumerate(["Terminated", "Restarting", "Started"] * 3 + ["Terminated"])]
    assert len(events) == 10
    assert stage(alloc("a", events=events)).stage is Stage.UNKNOWN


def test_only_driver_events_count():
    info = stage(alloc("a", events=[{"Type": "Task Setup", "Time": 5 * S, "DriverMessage": "job_stage_incr"},
                                    event("Driver", 1 * S, "job_stage_full")]))
    assert info.stage is Stage.FULL


def test_no_running_dest_allocation():
    stopped = alloc("a", desired="stop", events=[event("Driver", 1 * S, "job_stage_incr")])
    assert stage(stopped).stage is Stage.UNKNOWN
    assert detect_stage([]).stage is Stage.UNKNOWN


def test_unknown_job_stage_value_is_unknown_stage():
    info = stage(alloc("a", events=[event("Driver", 1 * S, "job_stage_full"), event("Driver", 2 * S, "job_stage_x")]))
    assert info.stage is Stage.UNKNOWN and info.since_ns == 2 * S


def test_dest_task_with_other_name():
    info = stage(alloc("a", task="Destination", events=[event("Driver", 1 * S, "job_stage_incr")]))
    assert info.stage is Stage.INCREMENTAL


def test_timeline_across_dest_allocations_oldest_first():
    old = alloc("old", desired="stop", create_index=5,
                events=[event("Driver", 1 * S, "job_stage_full"), event("Driver", 4 * S, "job_stage_incr")])
    new = alloc("new", create_index=20, events=[event("Driver", 6 * S, "job_stage_full")])
    src = alloc("s", group="src", events=[event("Driver", 2 * S, "job_stage_incr")])
    timeline = stage_timeline(parse_allocations([new, src, old]))
    assert timeline == [(1 * S, Stage.FULL, "old"), (4 * S, Stage.INCREMENTAL, "old"), (6 * S, Stage.FULL, "new")]


def test_garbage_events_do_not_break_detection():
    weird = alloc("a", events=[None, "x", {"Type": "Driver", "Time": "7000000000", "DriverMessage": "job_stage_incr"}])
    weird["TaskStates"]["other"] = None
    assert stage(weird) == StageInfo(Stage.INCREMENTAL, 7 * S, "a")
