"""What the dtle task driver and the Nomad client do to allocations, Consul keys and logs (dtle.md §2-§6).

- Every dest (re)start emits Driver `job_stage_full`; MySQL dests emit `job_stage_incr` when the full copy
  is done (at once when Consul already holds a Gtid: Consul wins over config, §1). Kafka dests emit none.
- While incremental, the applier rewrites `dtle/<job>/Gtid` and `BinlogFilePos` every few seconds with
  libkv's flags 3304740253564472344.
"""

from __future__ import annotations

from . import shapes
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


class DtleDriver:
    def __init__(self, state: ClusterState, kv: KVStore, logs: LogStore) -> None:
        self.state = state
        self.kv = kv
        self.logs = logs
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
                self._start_logs(alloc, task, t)
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
            self.logs.line(alloc.id, "dest", "stdout", now, "INFO", f"full copy done. start incr. job={alloc.job_id}")

    def stage(self, alloc: Alloc, message: str, at: int) -> None:
        # Driver events carry DriverMessage = DisplayMessage and the annotation in Details (dtle.md §5).
        alloc.task_states["dest"].add(shapes.task_event("Driver", at, {"driver_message": message},
                                                        DriverMessage=message))

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

    def fail(self, alloc: Alloc, task: str, error: str, at: int, restarts: int = 1) -> None:
        """A dtle error: Terminated (exit 1, Message) -> Restarting -> ... -> Not Restarting (§0, dtle.md §6)."""
        run = alloc.task_states[task]
        t = at
        for attempt in range(restarts + 1):
            run.add(shapes.task_event("Terminated", t, {"exit_code": "1", "exit_message": error,
                                                        "oom_killed": "false", "signal": "0"},
                                      ExitCode=1, Message=error))
            self.logs.line(alloc.id, task, "stderr", t, "ERROR", f"{error} job={alloc.job_id}")
            if attempt < restarts:
                delay = 15 * shapes.SEC + 113_808_761
                run.add(shapes.task_event("Restarting", t + 17_000_000,
                                          {"restart_reason": "Restart within policy", "start_delay": str(delay)},
                                          RestartReason="Restart within policy", StartDelay=delay))
                t += delay + 20_000_000
                run.add(shapes.task_event("Started", t))
                if task == "dest":
                    self.stage(alloc, "job_stage_full", t + 300_000_000)
                run.restarts += 1
                run.last_restart, run.started_at = t - delay, t
                t += 30 * shapes.SEC
        reason = "Exceeded allowed attempts 3 in interval 10m0s and mode is \"fail\""
        run.add(shapes.task_event("Not Restarting", t + 10_000_000,
                                  {"fails_task": "true", "restart_reason": reason},
                                  FailsTask=True, RestartReason=reason))
        run.state, run.failed, run.finished_at = "dead", True, t + 10_000_000
        alloc.client_status, alloc.client_description = "failed", "Failed tasks"
        alloc.healthy, alloc.health_index, alloc.health_time = False, alloc.modify_index, t + 10_200_000
        self.state.touch(alloc)

    def applying(self, record) -> bool:
        """Progress moves only while the job is not stopped and a dest allocation runs."""
        return not record.job["Stop"] and any(
            a.task_group == "dest" and a.client_status == "running" for a in record.allocs)

    # ---- logs ----------------------------------------------------------------------------------------
    def _start_logs(self, alloc: Alloc, task: str, t: int) -> None:
        role = "extractor" if task == "src" else "applier"
        self.logs.line(alloc.id, task, "stdout", t, "INFO", f"{role} started. job={alloc.job_id}")
        self.logs.line(alloc.id, task, "stderr", t, "INFO", f"dtle 3.21.11.0-3.21.x-95f4e8b {role} init")

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
                        if alloc.client_status == "running":
                            task = alloc.tasks[0]
                            message = (f"applied gtid {rep.gtid(now)[-24:]} job={job_id}" if task == "dest"
                                       else f"send binlog batch to nats. job={job_id}")
                            self.logs.line(alloc.id, task, "stdout", now, "DEBUG", message)
                    rep.last_write = now
