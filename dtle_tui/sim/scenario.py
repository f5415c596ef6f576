"""The default migration story and the `jobs=N` scale cluster (seeded, deterministic per seed).

Story (times relative to start): incremental jobs, jobs finishing their full copy 1-4 minutes in, a job
whose Gtid is stalled, a Kafka job, a dest that failed with a dtle error and was rescheduled, one whose
reschedule failed too, a stopped job whose Consul keys remain, `job1`/`job10` neighbours, `mig-[b]ops`,
and Consul keys of a purged job (orphans). Then what a real dtle 3.21.11.0 was recorded doing
(realdtle.py): a job crash-looping at connect with its next try minutes away, a job whose src runs but
never connected, a job created through dtle's /v2 API that failed, was rescheduled once and is dead, a
job that cannot be placed, and the `dtleUser/` and `dtleRole/` keys dtle's first login writes.
"""

from __future__ import annotations

import json
import random

from . import register as reg
from . import shapes
from .dtle import DtleDriver, Replication
from .kvstore import KVStore
from .realdtle import build_real_dtle
from .sidecar import add_sidecar
from .state import ClusterState, JobRecord, Node
from .troubleshoot import seed_evals, start_drain, unplaced

S = shapes.SEC
RESTART = {"Attempts": 3, "Interval": 600 * S, "Delay": 15 * S, "Mode": "delay"}  # dtle.md §7 example


def dtle_spec(job_id: str, src: str, dst: str, db: str, password: str, gtid: str = "",
              kafka: bool = False, restart: dict = RESTART) -> dict:
    def conn(host: str, user: str) -> dict:
        return {"Host": host, "Port": 3306, "User": user, "Password": password, "Charset": "utf8mb4"}

    dest_config = ({"KafkaConfig": {"Topic": f"{db}-events", "Brokers": ["kafka-01.prod:9092", "kafka-02.prod:9092"],
                                    "Converter": "json", "TimeZone": "UTC"}}
                   if kafka else {"ConnectionConfig": conn(dst, "dtle_dst"), "ParallelWorkers": 4})
    return {"ID": job_id, "Datacenters": ["dc1"], "Reschedule": {"Attempts": 1, "Interval": 1800 * S,
                                                                  "Unlimited": False},
            "TaskGroups": [
                {"Name": "src", "RestartPolicy": restart, "Tasks": [{"Name": "src", "Driver": "dtle", "Config": {
                    "Gtid": gtid, "ChunkSize": 2000, "GroupMaxSize": 1024, "GroupTimeout": 100,
                    "DropTableIfExists": False, "ReplChanBufferSize": 32,
                    "ReplicateDoDb": [{"TableSchema": db, "Tables": []}],
                    "ConnectionConfig": conn(src, "dtle_src")}}]},
                {"Name": "dest", "RestartPolicy": restart,
                 "Tasks": [{"Name": "dest", "Driver": "dtle", "Config": dest_config}]}]}


# (job, src host, dst host, db, plan, age in minutes); plan drives the story below
STORY = [
    ("job1", "mysql-src-01.prod", "mysql-dst-01.prod", "shop", "incr", 600),
    ("job10", "mysql-src-01.prod", "mysql-dst-02.prod", "shop_archive", "incr", 590),
    ("mig-[b]ops", "mysql-src-02.prod", "mysql-dst-02.prod", "ops", "incr", 300),
    ("orders-sync", "mysql-src-03.prod", "mysql-dst-03.prod", "orders", "incr-multi", 2880),
    ("billing-migrate", "mysql-src-04.prod", "mysql-dst-04.prod", "billing", "full", 1),
    ("inventory-copy", "mysql-src-05.prod", "mysql-dst-05.prod", "inventory", "full", 1),
    ("users-stalled", "mysql-src-06.prod", "mysql-dst-06.prod", "users", "stalled", 720),
    ("events-kafka", "mysql-src-07.prod", "", "events", "kafka", 240),
    ("payments-sync", "mysql-src-08.prod", "mysql-dst-08.prod", "payments", "failed-rescheduled", 180),
    ("crm-sync", "mysql-src-09.prod", "mysql-dst-09.prod", "crm", "failed", 90),
    ("legacy-stopped", "mysql-src-10.prod", "mysql-dst-10.prod", "legacy", "stopped", 4000),
    ("reports-incr", "mysql-src-11.prod", "mysql-dst-11.prod", "reports", "incr-only", 45),
]
ORPHAN = "old-purged-job"
# The one job that is not dtle's: a raw_exec daemon beside the migrations. Unlike a dtle task it writes its
# own stdout and stderr (real-dtle.md §2) and its driver measures its memory against MemoryMB.
HELPER_JOB, HELPER_TASK, HELPER_MEMORY_MB = "pt-heartbeat", "heartbeat", 128


class Scenario:
    """Cluster state with thread-safe methods for tests: advance, jobs, allocations, nodes, kv, gtid_rate."""

    def __init__(self, state: ClusterState, driver: DtleDriver, kv: KVStore) -> None:
        self.state = state
        self.driver = driver
        self.kv = kv
        self.rng = state.rng
        self.stalled_job = "users-stalled"
        self.kafka_job = "events-kafka"
        self.failed_job = "payments-sync"
        self.stopped_job = "legacy-stopped"
        self.orphan_job = ORPHAN
        self.full_jobs = ["billing-migrate", "inventory-copy"]

    # ---- public, thread-safe ------------------------------------------------------------------------
    def advance(self, seconds: float) -> None:
        self.state.advance(seconds)
        self.driver.tick()

    def tick(self) -> None:
        self.state.tick()
        self.driver.tick()

    def jobs(self) -> list[dict]:
        with self.state.lock:
            return [r.job for _k, r in sorted(self.state.jobs.items())]

    def job(self, job_id: str) -> dict | None:
        with self.state.lock:
            record = self.state.jobs.get(job_id)
            return record.job if record else None

    def allocations(self, job_id: str | None = None) -> list:
        with self.state.lock:
            return [a for a in self.state.allocs.values() if job_id is None or a.job_id == job_id]

    def nodes(self) -> list:
        with self.state.lock:
            return list(self.state.nodes)

    def gtid_rate(self, job_id: str) -> float:
        """Transactions per second the job's Gtid advances while incremental (0 when stalled)."""
        with self.state.lock:
            return self.driver.gtid_rate(job_id)

    def gtid(self, job_id: str) -> str | None:
        value = self.kv.value(f"dtle/{job_id}/Gtid")
        return None if value is None else value.decode()

    # ---- building -----------------------------------------------------------------------------------
    def add_nodes(self) -> None:
        st, now = self.state, self.state.now()
        version = st.dialect
        # Loopback addresses (all of 127/8 reaches this machine): each node's agent and dtle API listen there.
        specs = [("dtle-node-1", "127.0.3.21", "ready", "eligible", (True, "Healthy")),
                 ("dtle-node-2", "127.0.3.22", "ready", "eligible",
                  (False, "dtle: failed to connect to consul 127.0.0.1:8500: connection refused")),
                 ("dtle-node-3", "127.0.3.23", "down", "ineligible", (True, "Healthy"))]
        for name, address, status, eligibility, dtle in specs:
            node = Node(st.uuid(), name, address, status, eligibility, dtle, version, now - 86_400 * S,
                        st.next_index())
            st.nodes.append(node)
        st.bump("nodes")

    def add_job(self, spec: dict, age_s: float, place: bool = True) -> tuple[JobRecord, dict]:
        """Register a job in the past: indexes now, times back-dated; one alloc per group on dtle-node-1
        (none when not `place`d: the scheduler found no node)."""
        st = self.state
        job = shapes.canonical_job(st.dialect, reg.decode(reg._JOB, spec))
        reg.validate(job)
        index = st.next_index()
        job.update(CreateIndex=index, ModifyIndex=index, JobModifyIndex=index,
                   SubmitTime=st.now() - int(age_s * S))
        record = JobRecord(job)
        st.jobs[job["ID"]] = record
        st.bump("jobs", index=index)
        eval_id = st.uuid()
        created = job["SubmitTime"] + 30_000_000
        allocs = {g["Name"]: st.new_alloc(record, g, st.nodes[0], eval_id, st.next_index(), created)
                  for g in job["TaskGroups"]} if place else {}
        return record, allocs

    def run(self, allocs: dict, at: int) -> None:
        for alloc in allocs.values():
            self.driver.start(alloc, at=at)
            self.driver.healthy(alloc)

    def consul_extras(self, job_id: str, listed: bool, created: int) -> None:
        self.driver.put(job_id, "NatsAddr", "127.0.3.21:8193")
        self.driver.put(job_id, "ReplChanBufferSize", "32")
        if listed:  # dtleJobList/<job> as the /v2 API writes it (dtle.md §2)
            entry = {"job_id": job_id, "job_status": "non-paused", "topic": "", "job_create_time":
                     shapes.rfc3339nano(created), "src_addr_list": ["mysql-src:3306"],
                     "dst_addr_list": ["mysql-dst:3306"], "user": "platform:admin",
                     "job_steps": [{"step_name": "job_stage_full", "step_status": "start",
                                    "step_schedule": 0, "job_create_time": shapes.rfc3339nano(created)}]}
            self.kv.put(f"dtleJobList/{job_id}", json.dumps(entry).encode(), flags=3304740253564472344)

    def build_story(self) -> None:
        st, driver = self.state, self.driver
        now = st.now()
        for number, (job_id, src, dst, db, plan, age_min) in enumerate(STORY):
            password = f"s3cr3t-{db}-{self.rng.randint(1000, 9999)}"
            # "Not Restarting" only exists in mode "fail"; dtle's example uses "delay" (restarts forever)
            restart = dict(RESTART, Mode="fail") if plan.startswith("failed") else RESTART
            spec = dtle_spec(job_id, src, dst, db, password, kafka=plan == "kafka", restart=restart,
                             gtid="" if plan != "incr-only" else "4f3c9b1e-5d1a-11ee-9b8d-0242ac120002:1-5000")
            record, allocs = self.add_job(spec, age_min * 60)
            started = record.job["SubmitTime"] + 1 * S
            rep = driver.new_replication(job_id)
            driver.replications[job_id] = rep
            self.run(allocs, started)
            self.consul_extras(job_id, listed=number % 3 == 0, created=record.job["SubmitTime"])
            if plan == "full":
                driver.put(job_id, "Gtid", "")  # a full+incr job writes "" right after it starts (dtle.md §3)
                # Kept: the dtle API's rows and ETA advance to the end of this full copy (sim/dtle_api.py).
                full_s = driver.full_copy_seconds[job_id] = self.rng.uniform(60.0, 240.0)
                driver.full_copy_ends[job_id] = now + int(full_s * S)
                st.after(full_s, lambda a=allocs["dest"]: driver.go_incr(a))
                continue
            if plan == "incr-multi":
                rep.uuids += [("00003306-0000-0000-0000-000000003306", 16),
                              ("047aedfe-c9c7-11eb-adf1-0242ac640901", 110)]
            if plan == "kafka":
                rep.since = started + 5 * S
                driver.write_position(job_id, now)
                continue
            if plan == "incr-only":
                rep.resume_from(spec["TaskGroups"][0]["Tasks"][0]["Config"]["Gtid"])
            full_done = started + (4 * S if plan == "incr-only" else int(age_min * 60 * S * 0.3))
            if plan in ("failed", "failed-rescheduled"):
                full_done = started + 120 * S
            driver.go_incr(allocs["dest"], at=full_done)
            if plan == "stalled":
                rep.stalled = True  # tasks running, allocations healthy, Gtid not moving
            if plan.startswith("failed"):
                self.fail_dest(record, allocs["dest"], full_done + 600 * S, rescheduled=plan == "failed-rescheduled")
            if plan == "stopped":
                self.stop_job(record, now - 3600 * S)
        for job_id, rep in driver.replications.items():
            if rep.since is not None and not rep.stalled and driver.applying(st.jobs[job_id]):
                driver.write_position(job_id, now)
        for name, value in (("Gtid", "9a1d3e44-1c2b-11ee-8f0e-0242ac120009:1-88231"),
                            ("BinlogFilePos", "mysql-bin.000088//dtle//120"), ("NatsAddr", "127.0.3.23:8193"),
                            ("ReplChanBufferSize", "32")):
            driver.put(ORPHAN, name, value)  # progress of a purged job: no Nomad job any more (orphans)
        self.kv.put(f"dtleJobList/{ORPHAN}", b'{"job_id":"old-purged-job","job_status":"finished"}',
                    flags=3304740253564472344)
        build_real_dtle(self, dtle_spec)
        seed_evals(st)
        self.add_helper_job()

    def add_helper_job(self) -> None:
        """HELPER_JOB, running for a day: a raw_exec task with a line on its stdout and one on its stderr.
        Its IDs come from a generator of its own, so every other ID of the story stays as it was."""
        st = self.state
        main_rng, st.rng = st.rng, random.Random(HELPER_JOB)
        try:
            task = {"Name": HELPER_TASK, "Driver": "raw_exec",
                    "Config": {"command": "/usr/bin/pt-heartbeat",
                               "args": ["--update", "--database", "percona", "--host", "mysql-src-01.prod"]},
                    "Resources": {"CPU": 100, "MemoryMB": HELPER_MEMORY_MB}}
            spec = {"ID": HELPER_JOB, "Datacenters": ["dc1"],
                    "TaskGroups": [{"Name": HELPER_TASK, "RestartPolicy": RESTART, "Tasks": [task]}]}
            record, allocs = self.add_job(spec, 24 * 3600)
            self.run(allocs, record.job["SubmitTime"] + S)
            alloc = allocs[HELPER_TASK]
            self.driver.logs.write(alloc.id, HELPER_TASK, "stderr",
                                   "Use of uninitialized value in concatenation at /usr/bin/pt-heartbeat line 6043.\n")
        finally:
            st.rng = main_rng

    def fail_dest(self, record: JobRecord, alloc, at: int, rescheduled: bool) -> None:
        """A dest dies with a dtle error and fails at every restart; its restart policy (mode "fail") gives
        up and Nomad reschedules it once (ReschedulePolicy Attempts 1): the replacement runs, or fails too."""
        error = "DstPutNats: nats: timeout" if rescheduled else \
            "NewApplierIncr: Error 1045: Access denied for user 'dtle_dst'@'127.0.3.21' (using password: YES)"
        self.driver.fail(alloc, "dest", error, at, healthy_replacement=rescheduled)

    def stop_job(self, record: JobRecord, at: int) -> None:
        st = self.state
        index = st.next_index()
        record.job.update(Stop=True, Version=record.job["Version"] + 1, ModifyIndex=index,
                          JobModifyIndex=index, SubmitTime=at)
        record.cache.clear()
        st.bump("jobs", index=index)
        st.job_event(record, "JobDeregistered", index)
        for alloc in record.allocs:
            self.driver.stop(alloc, "alloc not needed due to job update", at=at)

    def build_scale(self, count: int) -> None:
        """N cheap jobs with 3 allocations each (src, dest, an older dest stopped by a job update)."""
        st, driver = self.state, self.driver
        now = st.now()
        for number in range(count):
            job_id = f"mig-{number:05d}"
            spec = dtle_spec(job_id, f"mysql-src-{number % 97:02d}.prod", f"mysql-dst-{number % 89:02d}.prod",
                             f"db{number}", f"s3cr3t-{number}")
            record, allocs = self.add_job(spec, 3600 + number)
            started = record.job["SubmitTime"] + S
            group = next(g for g in record.job["TaskGroups"] if g["Name"] == "dest")
            old = st.new_alloc(record, group, st.nodes[0], st.uuid(), st.next_index(), started - 600 * S)
            driver.start(old, at=started - 600 * S)
            driver.stop(old, "alloc not needed due to job update", at=started - 5 * S)
            self.run(allocs, started)
            driver.stage(allocs["dest"], "job_stage_incr", started + 30 * S)
            rep = Replication([(f"{number:08x}-aaaa-11ee-8000-0242ac120002", 1000 + number)], 0.0, 3600.0)
            driver.replications[job_id] = rep
            driver.put(job_id, "Gtid", rep.gtid(now))


UNPLACED_JOB = "archive-sync"


def add_troubles(scenario: Scenario) -> None:
    """dc2: dtle-node-4 (healthy dtle) draining with a 1 h deadline, dtle-node-5 without dtle. The job
    `archive-sync` runs its src on node 4; its dest was migrated off by the drain and cannot be placed."""
    st, driver = scenario.state, scenario.driver
    now = st.now()
    draining = Node(st.uuid(), "dtle-node-4", "127.0.3.24", "ready", "ineligible", (True, "Healthy"),
                    st.dialect, now - 86_400 * S, st.next_index())
    plain = Node(st.uuid(), "dtle-node-5", "127.0.3.25", "ready", "eligible", None, st.dialect,
                 now - 86_400 * S, st.next_index())
    for node in (draining, plain):
        node.datacenter = "dc2"
        st.nodes.append(node)
    start_drain(st, draining, 3600 * S, started=now - 120 * S, driver=driver)
    spec = dtle_spec(UNPLACED_JOB, "mysql-src-12.prod", "mysql-dst-12.prod", "archive", "s3cr3t-archive-4242")
    spec["Datacenters"] = ["dc2"]
    record, allocs = scenario.add_job(spec, 3 * 3600)
    for alloc in allocs.values():
        alloc.node = draining
        alloc.cache.clear()
    scenario.run(allocs, record.job["SubmitTime"] + S)
    driver.go_incr(allocs["dest"], at=record.job["SubmitTime"] + 300 * S)
    dest = allocs["dest"]
    dest.desired_status, dest.desired_description = "stop", "alloc is being migrated"
    dest.migrate_transition = True
    driver.killed(dest, now - 110 * S)
    seed_evals(st)
    record.queued = {"dest": 1}
    unplaced(st, record, "node-drain", available={"dc2": 1}, evaluated=1, filtered=1,
             constraint={"missing drivers": 1})
    driver.replications.setdefault(UNPLACED_JOB, driver.new_replication(UNPLACED_JOB))
    st.refresh_job(record, st.next_index())
    st.bump("nodes")
    add_sidecar(scenario)  # a raw_exec job beside the dtle ones: the story's memory figures
    seed_evals(st)  # the evaluation its allocation names
