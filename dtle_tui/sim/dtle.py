"""What the dtle task driver and the Nomad client do to allocations, Consul keys and logs (dtle.md §2-§6,
real-dtle.md §2-§5).

- Every dest (re)start emits Driver `job_stage_full` (Details null); MySQL dests emit `job_stage_incr`
  when the full copy is done (at once when Consul already holds a Gtid: Consul wins over config, §1).
  Kafka dests and every src emit none.
- A dtle task writes nothing to its stdout or stderr: its lines go to the client agent's log
  (agentlog.py), which /v1/agent/monitor streams. Tasks of other drivers keep their stdout and stderr.
- While incremental, the applier rewrites `dtle/<job>/Gtid` and `BinlogFilePos` every few seconds with
  libkv's flags 3304740253564472344.
- A task that fails at every start plays Nomad's restart and reschedule policies (crashloop.py).
"""

from __future__ import annotations

from . import shapes
from .agentlog import AgentLogs
from .crashloop import CrashLoop, Failure
from .kvstore import KVStore
from .logs import LogStore
from .state import Alloc, ClusterState

LIBKV_FLAGS = 3304740253564472344


class Replication:
    """The Gtid progress of one job: the first UUID's interval grows at `rate` transactions/second."""

    def __init__(self, uuids: list, rate: float, interval: float, stalled: bool = False) -> None:
        self.uuids = uuids  # [(server_uuid, last_txn)], first one is the live source
        self.rate = rate
        self.interval = interval
        self.stalled = stalled
        self.since = None  # ns when incremental started
        self.base = uuids[0][1]
        self.last_write = 0
        self.binlog = (123, 4567)

    def gtid(self, now: int) -> str:
        first = self.base
        if self.since is not None and not self.stalled:
            first = self.base + int(self.rate * (now - self.since) / shapes.SEC)
        parts = [(self.uuids[0][0], first)] + self.uuids[1:]
        return ",".join(f"{u}:1-{n}" for u, n in parts)

    def resume_from(self, gtid_text: str) -> None:
        """A re-added job continues from the stored set (dtle reads Consul at start)."""
        parsed = []
        for element in gtid_text.replace("\n", "").split(","):
            if ":" in element:
                server, _, interval = element.strip().partition(":")
                parsed.append((server, int(interval.rsplit("-", 1)[-1].split(":")[-1])))
        if parsed:
            self.uuids = parsed
            self.base = parsed[0][1]


def is_mysql_dest(alloc: Alloc) -> bool:
    if alloc.task_group != "dest":
        return False
    group = next(g for g in alloc.job["TaskGroups"] if g["Name"] == "dest")
    config = group["Tasks"][0].get("Config") or {}
    return "KafkaConfig" not in config


def is_dtle(alloc: Alloc) -> bool:
    return any(t["Driver"] == "dtle" for g in alloc.job["TaskGroups"] for t in g["Tasks"])


def task_driver(alloc: Alloc, task: str) -> str:
    return next((t["Driver"] for g in alloc.job["TaskGroups"] if g["Name"] == alloc.task_group
                 for t in g["Tasks"] if t["Name"] == task), "")


class DtleDriver:
    def __init__(self, state: ClusterState, kv: KVStore, logs: LogStore, agent_logs: AgentLogs | None = None) -> None:
        self.state = state
        self.kv = kv
        self.logs = logs
        self.agent_logs = agent_logs or AgentLogs()
        self.unconnected: set[str] = set()  # jobs whose dest never reached its MySQL: dtle's all-zero answers
        self.loops: dict[tuple[str, str], CrashLoop] = {}  # (allocation ID, task) -> its crash loop
        self.replications: dict[str, Replication] = {}
        self.full_copy_seconds: dict[str, float] = {}  # job -> seconds of full copy (story or seeded)
        self.full_copy_ends: dict[str, int] = {}  # job -> ns when its current full copy is planned to end

    # ---- Consul --------------------------------------------------------------------------------------
    def put(self, job_id: str, name: str, value: str) -> None:
        self.kv.put(f"dtle/{job_id}/{name}", value.encode(), flags=LIBKV_FLAGS)

    def write_position(self, job_id: str, now: int) -> None:
        rep = self.replications[job_id]
        self.put(job_id, "Gtid", rep.gtid(now))
        file_no, pos = rep.binlog
        if not rep.stalled and rep.since is not None:
            pos = 4567 + int(rep.rate * (now - rep.since) / shapes.SEC) * 311
            file_no, pos = file_no + pos // 1_073_741_824, pos % 1_073_741_824
        self.put(job_id, "BinlogFilePos", f"mysql-bin.{file_no:06d}//dtle//{pos}")
        rep.last_write = now

    def gtid_rate(self, job_id: str) -> float:
        rep = self.replications.get(job_id)
        return 0.0 if rep is None or rep.stalled else rep.rate

    # ---- allocation lifecycle ------------------------------------------------------------------------
    def start(self, alloc: Alloc, at: int | None = None) -> None:
        """Received -> Task Setup -> Started (the real event sequence, §0); dest adds job_stage_full."""
        st = self.state
        with st.lock:
            if alloc.desired_status != "run" or alloc.terminal:
                return
            t = at or st.now()
            for task in alloc.tasks:
                run = alloc.task_states[task]
                run.add(shapes.task_event("Received", t))
                run.add(shapes.task_event("Task Setup", t + 11_000_000, {"message": "Building Task Directory"},
                                          Message="Building Task Directory"))
                run.add(shapes.task_event("Started", t + 212_000_000))
                run.state, run.started_at = "running", t + 212_000_000
                self._start_logs(alloc, task, t, live=st.streaming)
            alloc.client_status, alloc.client_description = "running", "Tasks are running"
            if is_dtle(alloc) and is_mysql_dest(alloc):
                self.stage(alloc, "job_stage_full", t + 400_000_000)
            st.touch(alloc)
            st.after(st.quick(10.0), lambda: self.healthy(alloc))
            if is_dtle(alloc) and is_mysql_dest(alloc) and at is None:
                self._plan_incr(alloc)

    def _plan_incr(self, alloc: Alloc) -> None:
        job_id = alloc.job_id
        stored = (self.kv.value(f"dtle/{job_id}/Gtid") or b"").decode()
        rep = self.replications.get(job_id)
        if rep is None:
            rep = self.replications[job_id] = self.new_replication(job_id)
        src = next((g["Tasks"][0].get("Config") or {} for g in alloc.job["TaskGroups"] if g["Name"] == "src"), {})
        if stored:
            rep.resume_from(stored)
            delay = 2.0
        elif src.get("Gtid"):
            rep.resume_from(src["Gtid"])
            delay = 3.0
        else:
            delay = self.full_copy_seconds.get(job_id) or self.state.rng.uniform(60.0, 240.0)
            self.full_copy_seconds[job_id] = delay  # the dtle API's rows and ETA advance over it
            self.full_copy_ends[job_id] = self.state.now() + int(delay * shapes.SEC)
        self.state.after(delay if not self.state.frozen or delay > 3.0 else 0.0, lambda: self.go_incr(alloc))

    def new_replication(self, job_id: str) -> Replication:
        rng = self.state.rng
        server = f"{rng.getrandbits(32):08x}-{rng.getrandbits(16):04x}-11ee-{rng.getrandbits(16):04x}-" \
                 f"{rng.getrandbits(48):012x}"
        return Replication([(server, rng.randint(1000, 90000))], round(rng.uniform(5, 60), 1),
                           rng.choice([2.0, 3.0, 5.0]))

    def go_incr(self, alloc: Alloc, at: int | None = None) -> None:
        st = self.state
        with st.lock:
            if alloc.terminal or alloc.desired_status != "run":
                return
            now = at or st.now()
            self.stage(alloc, "job_stage_incr", now)
            st.touch(alloc)
            rep = self.replications.setdefault(alloc.job_id, self.new_replication(alloc.job_id))
            rep.since = now
            self.write_position(alloc.job_id, now)
            if st.streaming:
                self.agent_logs.dtle(alloc.node.id, now, "INFO", "Operating until row copy is complete. done",
                                     ("@module", "dtle.applier"), ("job", alloc.job_id))

    def stage(self, alloc: Alloc, message: str, at: int) -> None:
        # Driver events carry DriverMessage = DisplayMessage and Details null (recorded, real-dtle.md §3).
        event = shapes.task_event("Driver", at, DriverMessage=message)
        event["Details"] = None
        alloc.task_states["dest"].add(event)

    def healthy(self, alloc: Alloc) -> None:
        st = self.state
        with st.lock:
            if alloc.client_status != "running" or alloc.healthy is not None:
                return
            index = st.next_index()
            alloc.healthy, alloc.health_index, alloc.health_time = True, index, st.now()
            record = st.jobs.get(alloc.job_id)
            if record is not None and record.job is alloc.job and not record.job["Stable"]:
                record.job["Stable"] = True
                record.job["ModifyIndex"] = index
                record.cache.clear()
                st.bump("jobs", index=index)
            st.touch(alloc, index)

    def stop(self, alloc: Alloc, description: str, at: int | None = None) -> None:
        """DesiredStatus stop now; Killing -> Terminated (137, 9) -> Killed shortly after (recorded)."""
        st = self.state
        with st.lock:
            if at is not None:
                alloc.desired_status, alloc.desired_description = "stop", description
                self.killed(alloc, at + 2_000_000)
                return
            if alloc.terminal:
                if alloc.desired_status == "run":
                    alloc.desired_status, alloc.desired_description = "stop", description
                    st.touch(alloc, client=False)
                return
            alloc.desired_status, alloc.desired_description = "stop", description
            st.touch(alloc, client=False)
            st.after(st.quick(1.0), lambda: self.killed(alloc))

    def killed(self, alloc: Alloc, at: int | None = None) -> None:
        st = self.state
        with st.lock:
            if alloc.terminal:
                return
            t = at or st.now()
            for task in alloc.tasks:
                run = alloc.task_states[task]
                if run.state != "dead":
                    run.add(shapes.task_event("Killing", t, {"kill_timeout": "5s"}, KillTimeout=5 * shapes.SEC))
                    run.add(shapes.task_event("Terminated", t + 25_000_000,
                                              {"exit_code": "137", "oom_killed": "false", "signal": "9"},
                                              ExitCode=137, Signal=9))
                    run.add(shapes.task_event("Killed", t + 25_100_000))
                    run.state, run.finished_at = "dead", t + 25_100_000
            alloc.client_status, alloc.client_description = "complete", "All tasks have completed"
            st.touch(alloc)

    def crash(self, alloc: Alloc, task: str, failure: Failure, first_start: int | None = None,
              fail_at: int | None = None, replacement: Failure | None = None) -> CrashLoop:
        """The task fails at every start from `first_start` (or, running already, first at `fail_at`); a
        replacement the reschedule policy places fails the same way, or runs when `replacement` is None
        and `fail_at` was given (a dest that failed once and came back)."""
        loop = CrashLoop(self, alloc, task, failure, first_start, fail_at, replacement)
        self.loops[(alloc.id, task)] = loop
        return loop

    def fail(self, alloc: Alloc, task: str, error: str, at: int, healthy_replacement: bool = False) -> None:
        """A running task dies with a dtle error at `at` and fails at every restart after (the story's
        dests that failed after copying): restart policy, then reschedule policy (crashloop.py)."""
        self.crash(alloc, task, Failure(error, stage_event=True), fail_at=at,
                   replacement=None if healthy_replacement else Failure(error, stage_event=True))

    def reschedule(self, alloc: Alloc, loop: CrashLoop, when: int, delay: int) -> None:
        """The follow-up evaluation places a replacement; the failed allocation is marked rescheduled."""
        st = self.state
        with st.lock:
            record = st.jobs.get(alloc.job_id)
            if record is None or record.job["Stop"] or alloc.next_allocation:
                return
            group = next(g for g in record.job["TaskGroups"] if g["Name"] == alloc.task_group)
            new = st.new_alloc(record, group, alloc.node, alloc.followup_eval_id, st.next_index(), when)
            new.previous_allocation = alloc.id
            new.reschedule_transition = True  # as the recorded replacements carry it
            new.reschedule_events = list(alloc.reschedule_events) + [
                {"Delay": delay, "PrevAllocID": alloc.id, "PrevNodeID": alloc.node.id, "RescheduleTime": when}]
            alloc.next_allocation = new.id
            alloc.desired_status, alloc.desired_description = "stop", "alloc was rescheduled because it failed"
            alloc.reschedule_transition = True
            st.touch(alloc, client=False)
            starts = when + 1_200_000_000
            if loop.replacement is not None:
                self.crash(new, loop.task, loop.replacement, first_start=starts, replacement=loop.replacement)
            else:
                self.start(new, at=starts)
                self.healthy(new)
                if is_mysql_dest(new):
                    self.go_incr(new, at=starts + 9 * shapes.SEC)

    def applying(self, record) -> bool:
        """Progress moves only while the job is not stopped and a dest allocation runs."""
        return not record.job["Stop"] and any(
            a.task_group == "dest" and a.client_status == "running" for a in record.allocs)

    # ---- logs ----------------------------------------------------------------------------------------
    def _start_logs(self, alloc: Alloc, task: str, t: int, live: bool) -> None:
        if task_driver(alloc, task) != "dtle":  # other drivers write their own stdout and stderr
            self.logs.line(alloc.id, task, "stdout", t, "INFO", f"{task} started. job={alloc.job_id}")
            return
        if live:  # the agent's log streams live only: a start in the story's past left nothing to read
            handle = f"{self.state.rng.getrandbits(32):08x}"
            self.agent_logs.task_started(alloc.node.id, t, alloc.id, alloc.job_id, task, handle)

    def tick(self) -> None:
        """Gtid uploads and log lines of incremental jobs (called by the scenario clock)."""
        st = self.state
        with st.lock:
            now = st.now()
            for job_id, rep in self.replications.items():
                record = st.jobs.get(job_id)
                if rep.since is None or record is None or not self.applying(record):
                    continue
                if now - rep.last_write >= rep.interval * shapes.SEC:
                    if not rep.stalled:
                        self.write_position(job_id, now)
                    for alloc in record.allocs:
                        if alloc.client_status == "running" and self.agent_logs.watched(alloc.node.id):
                            module = "dtle.applier" if alloc.task_group == "dest" else "dtle.extractor"
                            self.agent_logs.dtle(alloc.node.id, now, "DEBUG", "TimestampContext.GetDelay",
                                                 ("delay", "0" if not rep.stalled else str(rep.interval)),
                                                 ("job", job_id), ("@module", module))
                    rep.last_write = now
