"""The story's jobs that behave as a real dtle 3.21.11.0 was recorded behaving (real-dtle.md §2-§7).

- `sales-mariadb`: src and dest on a MariaDB (no GTID): the src fails at every start on `Error 1193:
  Unknown system variable 'GTID_MODE'`, the dest (which reaches its server, so emits job_stage_full each
  time) on `SERVER_UUID`; RestartPolicy mode "delay": three quick restarts, then "Exceeded allowed
  attempts, applying a delay - Task restarting in 8m…", both allocations `pending`.
- `hr-replica`: its dest's port is closed (`dial tcp …: connect: connection refused`, no stage event):
  the dest crash-loops while the src runs, waiting for it (`NatsAddr` stays "wait"); dtle answers the
  src's /v2/monitor/task with its all-zero answer (`stage ""`).
- `ledger-migration`: created through dtle's /v2 API (RestartPolicy {2, 30m, 15s, "fail"}, Reschedule
  {1, 30s exponential}, a `dtleJobList/` key): both tasks fail, "Not Restarting", one reschedule, then
  the job is dead.
- `reports-v2`: its dest asks for more memory than any node has: queued behind a blocked evaluation
  while its src runs (and waits for it).
- `dtleUser/platform/admin` (the password in plain text) and `dtleRole/platform/admin`, as the first
  `POST /v2/login` writes them: a console must never read them.
"""

from __future__ import annotations

import json
from typing import Callable

from . import shapes
from .crashloop import Failure
from .troubleshoot import unplaced

S = shapes.SEC
LIBKV_FLAGS = 3304740253564472344
DELAY_MODE = {"Attempts": 3, "Interval": 600 * S, "Delay": 15 * S, "Mode": "delay"}
V2_RESTART = {"Attempts": 2, "Interval": 1800 * S, "Delay": 15 * S, "Mode": "fail"}
V2_RESCHEDULE = {"Attempts": 1, "Interval": 1800 * S, "Delay": 30 * S, "DelayFunction": "exponential",
                 "MaxDelay": 3600 * S, "Unlimited": False}
CRASH_LOOP_JOB, UNCONNECTED_JOB, V2_DEAD_JOB, UNPLACEABLE_JOB = (
    "sales-mariadb", "hr-replica", "ledger-migration", "reports-v2")
GTID_MODE = "Error 1193: Unknown system variable 'GTID_MODE'"
SERVER_UUID = "Error 1193: Unknown system variable 'SERVER_UUID'"
CLOSED_DEST = ("127.0.3.113", 3399)
UNPLACEABLE_MEMORY_MB = 65536
REFUSED = f"dial tcp {CLOSED_DEST[0]}:{CLOSED_DEST[1]}: connect: connection refused"
DTLE_USER = {"username": "admin", "tenant": "platform", "role": "admin", "password": "admin",
             "create_time": "", "remark": ""}


def build_real_dtle(scenario, dtle_spec: Callable[..., dict]) -> None:
    """Add these jobs to the scenario (sim/scenario.py's Scenario; `dtle_spec` its job builder)."""
    st, driver, kv = scenario.state, scenario.driver, scenario.kv

    def spec(job_id: str, db: str, restart: dict) -> dict:
        body = dtle_spec(job_id, "127.0.3.111", "127.0.3.112", db, f"s3cr3t-{db}-{scenario.rng.randint(1000, 9999)}",
                         restart=restart)
        for group in body["TaskGroups"]:
            group["Tasks"][0]["Config"]["ConnectionConfig"]["Port"] = 3307
        return body

    def keys(job_id: str, nats: str) -> None:
        driver.put(job_id, "NatsAddr", nats)
        driver.put(job_id, "ReplChanBufferSize", "32")

    # A job crash-looping at connect, in the restart policy's delay (its next try minutes away).
    # Ages in whole minutes: a table's "2m" does not change while a test's clock moves within the minute.
    record, allocs = scenario.add_job(spec(CRASH_LOOP_JOB, "sales", DELAY_MODE), 120)
    start = record.job["SubmitTime"] + 60_000_000
    driver.crash(allocs["src"], "src", Failure(GTID_MODE, run_ms=28), first_start=start)
    driver.crash(allocs["dest"], "dest", Failure(SERVER_UUID, stage_event=True, run_ms=22),
                 first_start=start + 5_000_000)
    keys(CRASH_LOOP_JOB, "127.0.3.21:8193")

    # A src that runs but never connected: its dest cannot reach its MySQL.
    body = spec(UNCONNECTED_JOB, "hr", DELAY_MODE)
    dest_conn = body["TaskGroups"][1]["Tasks"][0]["Config"]["ConnectionConfig"]
    dest_conn["Host"], dest_conn["Port"] = CLOSED_DEST
    record, allocs = scenario.add_job(body, 180)
    start = record.job["SubmitTime"] + 60_000_000
    driver.start(allocs["src"], at=start)
    driver.healthy(allocs["src"])
    driver.crash(allocs["dest"], "dest", Failure(REFUSED, run_ms=14), first_start=start + 3_000_000)
    driver.unconnected.add(UNCONNECTED_JOB)
    keys(UNCONNECTED_JOB, "wait")

    # A job created through dtle's /v2 API: it failed, was rescheduled once, failed again: dead.
    body = spec(V2_DEAD_JOB, "ledger", V2_RESTART)
    body.pop("Reschedule")
    for group in body["TaskGroups"]:
        group["ReschedulePolicy"] = dict(V2_RESCHEDULE)
    record, allocs = scenario.add_job(body, 40 * 60)
    start = record.job["SubmitTime"] + 70_000_000
    driver.crash(allocs["src"], "src", Failure(GTID_MODE, run_ms=33), first_start=start,
                 replacement=Failure(GTID_MODE, run_ms=33))
    driver.crash(allocs["dest"], "dest", Failure(SERVER_UUID, stage_event=True, run_ms=21),
                 first_start=start + 21_000_000, replacement=Failure(SERVER_UUID, stage_event=True, run_ms=21))
    keys(V2_DEAD_JOB, "127.0.3.21:8193")
    created = shapes.rfc3339nano(record.job["SubmitTime"] // S * S)
    entry = {"job_id": V2_DEAD_JOB, "job_status": "non-paused", "topic": "", "job_create_time": created,
             "src_addr_list": ["127.0.3.111:3307"], "dst_addr_list": ["127.0.3.112:3307"], "user": "platform:admin",
             "job_steps": [{"step_name": "job_stage_full", "step_status": "start", "step_schedule": 0,
                            "job_create_time": created}]}
    kv.put(f"dtleJobList/{V2_DEAD_JOB}", json.dumps(entry, separators=(",", ":")).encode(), flags=LIBKV_FLAGS)
    user = dict(DTLE_USER, create_time=created)
    kv.put("dtleUser/platform/admin", json.dumps(user, separators=(",", ":")).encode(), flags=LIBKV_FLAGS)
    role = {"tenant": "platform", "name": "admin", "object_users": None, "object_type": "all",
            "authority": "[{\"name\":\"migration\",\"menu_url\":\"/migration\",\"operations\":[]}]"}
    kv.put("dtleRole/platform/admin", json.dumps(role, separators=(",", ":")).encode(), flags=LIBKV_FLAGS)

    # A job whose dest no node can take: it asks for more memory than any node has (the src runs and
    # waits for it). Recorded shape: real-nomad troubleshooting/unplaced-mem.
    body = spec(UNPLACEABLE_JOB, "reports", DELAY_MODE)
    body["TaskGroups"][1]["Tasks"][0]["Resources"] = {"CPU": 100, "MemoryMB": UNPLACEABLE_MEMORY_MB}
    record, allocs = scenario.add_job(body, 20 * 60)
    dest = allocs.pop("dest")
    record.allocs.remove(dest)
    st.allocs.pop(dest.id)
    driver.start(allocs["src"], at=record.job["SubmitTime"] + 60_000_000)
    driver.healthy(allocs["src"])
    driver.unconnected.add(UNPLACEABLE_JOB)
    keys(UNPLACEABLE_JOB, "wait")
    record.queued = {"dest": 1}
    fits = [n for n in st.nodes if n.status == "ready" and n.eligibility == "eligible" and n.dtle and n.dtle[0]]
    without = [n for n in st.nodes if n.status == "ready" and n.eligibility == "eligible" and n not in fits]
    asked = {"CPU": 0, "Cores": 0, "MemoryMB": UNPLACEABLE_MEMORY_MB, "MemoryMaxMB": 0, "DiskMB": 0, "IOPS": 0,
             "Networks": None, "Devices": None}
    unplaced(st, record, "job-register", available={"dc1": len(fits) + len(without)},
             evaluated=len(fits) + len(without), filtered=len(without),
             constraint={"missing drivers": len(without)} if without else None, exhausted=len(fits),
             dimension={"memory": len(fits)}, resources={"dest": asked})
    # The src was placed by that same job-register evaluation.
    allocs["src"].eval_id = next(e["ID"] for e in st.evals_by_id.values()
                                 if e.get("JobID") == UNPLACEABLE_JOB and e["TriggeredBy"] == "job-register")
    allocs["src"].cache.clear()
    st.refresh_job(record, st.next_index())
