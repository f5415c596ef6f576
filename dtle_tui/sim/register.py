"""Job register / deregister as Nomad's HTTP layer and scheduler do them (nomad-api.md §4.6, §4.7).

Request bodies go through Go encoding/json into api.* structs: keys match case-insensitively, unknown keys
are dropped (so a job-level `ReschedulePolicy`, dtle's packaged example, vanishes), `null` means unset.
"""

from __future__ import annotations

import json

from .dtle import DtleDriver
from .state import ClusterState, JobRecord

_RESTART = ["Attempts", "Delay", "Interval", "Mode"]
_RESCHEDULE = ["Attempts", "Delay", "DelayFunction", "Interval", "MaxDelay", "Unlimited"]
_UPDATE = ["AutoPromote", "AutoRevert", "Canary", "HealthCheck", "HealthyDeadline", "MaxParallel",
           "MinHealthyTime", "ProgressDeadline", "Stagger"]
_OPAQUE = ["Affinities", "Constraints", "Spreads", "Networks", "Services", "Volumes", "Scaling", "Periodic",
           "ParameterizedJob", "Multiregion", "Artifacts", "Templates", "Vault", "Lifecycle", "VolumeMounts",
           "CSIPluginConfig", "DispatchPayload", "ScalingPolicies", "Devices"]
_MAPS = ["Meta", "Config", "Env"]  # map[string]...: keys kept verbatim
_TASK = ["Name", "Driver", "User", "KillTimeout", "Leader", "ShutdownDelay", "KillSignal", "Kind",
         ("Resources", ["CPU", "Cores", "MemoryMB", "MemoryMaxMB", "DiskMB", "IOPS", "Networks", "Devices"]),
         ("RestartPolicy", _RESTART), ("LogConfig", ["MaxFiles", "MaxFileSizeMB"])]
_GROUP = ["Name", "Count", "ShutdownDelay", "StopAfterClientDisconnect",
          ("RestartPolicy", _RESTART), ("ReschedulePolicy", _RESCHEDULE), ("Update", _UPDATE),
          ("EphemeralDisk", ["Sticky", "Migrate", "SizeMB"]),
          ("Migrate", ["MaxParallel", "HealthCheck", "MinHealthyTime", "HealthyDeadline"]),
          ("Consul", ["Namespace"]), ("[]Tasks", _TASK)]
_JOB = ["ID", "Name", "Namespace", "Region", "Type", "Priority", "AllAtOnce", "Datacenters", "Stop",
        "ParentID", "Dispatched", "Payload", "ConsulToken", "VaultToken", "ConsulNamespace", "VaultNamespace",
        ("Update", _UPDATE), ("Reschedule", _RESCHEDULE), ("[]TaskGroups", _GROUP)]
_REQUEST = ["EnforceIndex", "JobModifyIndex", "PolicyOverride", "PreserveCounts", "Region", "Namespace",
            "SecretID", ("Job", _JOB)]


class RegisterError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def decode(schema: list, value):
    """Keep known fields (matched case-insensitively, last one wins as in Go), drop the rest."""
    if not isinstance(value, dict):
        return None
    fields = {}
    for item in schema + _OPAQUE + _MAPS:
        name, sub = (item, None) if isinstance(item, str) else item
        fields[name.lstrip("[]").lower()] = (name, sub)
    out = {}
    for key, raw in value.items():
        known = fields.get(key.lower())
        if known is None or raw is None:
            continue
        name, sub = known
        if sub is None:
            out[name] = raw
        elif name.startswith("[]"):
            out[name[2:]] = [decode(sub, v) or {} for v in raw] if isinstance(raw, list) else None
        else:
            out[name] = decode(sub, raw)
    return out


def parse_body(body: bytes, dialect: str) -> dict:
    if not body.strip():
        raise RegisterError(400, "Request body is empty" if dialect == "1.1.2" else "EOF")
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise RegisterError(400, _go_json_error(body, exc)) from None
    if not isinstance(payload, dict):
        kind = {list: "array", str: "string", bool: "bool"}.get(type(payload), "number")
        raise RegisterError(400, f"json: cannot unmarshal {kind} into Go value of type api.JobRegisterRequest")
    request = decode(_REQUEST, payload)
    job = request.get("Job")
    if not job:
        raise RegisterError(400, "Job must be specified")
    if not job.get("ID"):
        raise RegisterError(400, "Job ID hasn't been provided")
    return request


def _go_json_error(body: bytes, exc: Exception) -> str:
    text = body.decode("utf-8", "replace").lstrip()
    if text and text[0] not in '{["-0123456789tfn':
        return f"invalid character {text[0]!r} looking for beginning of value"
    return "unexpected EOF" if "Expecting" in str(exc) else f"invalid character looking for value: {exc}"


def validate(job: dict) -> None:
    """structs.Job.Validate: a multierror answered with 500 (§2)."""
    errors = []
    if " " in job["ID"]:
        errors.append("Job ID contains a space")
    if not job.get("Datacenters"):
        errors.append("Missing job datacenters")
    if not job.get("TaskGroups"):
        errors.append("Missing job task groups")
    if job["Type"] not in ("service", "batch", "system"):
        errors.append(f"Invalid job type: {job['Type']!r}")
    if not 1 <= int(job["Priority"]) <= 100:
        errors.append("Job priority must be between [1, 100]")
    for group in job.get("TaskGroups") or []:
        if not group.get("Tasks"):
            errors.append(f"Task group {group['Name']} validation failed: 1 error occurred:\n\t* Missing tasks "
                          "for task group\n\n")
        for task in group.get("Tasks") or []:
            if not task.get("Driver"):
                errors.append(f"Task group {group['Name']} validation failed: 1 error occurred:\n\t* Task "
                              f"{task['Name']} validation failed: 1 error occurred:\n\t* Missing task driver\n\n\n\n")
    if errors:
        head = "1 error occurred" if len(errors) == 1 else f"{len(errors)} errors occurred"
        raise RegisterError(500, head + ":\n" + "".join(f"\t* {e}\n" for e in errors) + "\n")


_VOLATILE = ("CreateIndex", "JobModifyIndex", "ModifyIndex", "Status", "StatusDescription", "Stable",
             "Version", "SubmitTime")


def same_spec(old: dict, new: dict) -> bool:
    return {k: v for k, v in old.items() if k not in _VOLATILE} == \
        {k: v for k, v in new.items() if k not in _VOLATILE}


def register(state: ClusterState, driver: DtleDriver, job: dict, node_for) -> dict:
    """Store the job (versioned), create an eval, place allocations; returns the write response body."""
    with state.lock:
        record = state.jobs.get(job["ID"])
        eval_id = state.uuid()
        if record is not None and same_spec(record.job, job):
            index = state.bump("evals")  # unchanged: same Version/JobModifyIndex, still a new eval (§4.6)
            state.eval_event(job["ID"], eval_id, "JobRegistered", "job-register", index, record.job["JobModifyIndex"])
            return _write_body(eval_id, index, record.job["JobModifyIndex"], Warnings="")
        index = state.next_index()
        job["CreateIndex"] = record.job["CreateIndex"] if record else index
        job["ModifyIndex"] = job["JobModifyIndex"] = index
        job["Version"] = record.job["Version"] + 1 if record else 0
        job["SubmitTime"] = state.now()
        old_allocs = record.allocs if record else []
        if record is None:
            record = JobRecord(job)
            state.jobs[job["ID"]] = record
        record.job = job
        record.cache.clear()
        state.bump("jobs", index=index)
        state.job_event(record, "JobRegistered", index)
        # 0.11 writes the eval in a second raft entry; 1.1.2 registers job and eval atomically.
        eval_index = state.next_index() if state.dialect == "0.11.1" else index
        state.bump("evals", index=eval_index)
        state.eval_event(job["ID"], eval_id, "JobRegistered", "job-register", eval_index, index)
        for alloc in old_allocs:
            if not alloc.terminal:
                driver.stop(alloc, "alloc not needed due to job update")
        if not job["Stop"]:
            for group in job["TaskGroups"]:
                for _ in range(int(group["Count"])):
                    alloc = state.new_alloc(record, group, node_for(job), eval_id, state.next_index())
                    state.after(state.quick(1.2), lambda a=alloc: driver.start(a))
        state.refresh_job(record, state.table_index("allocs"))
        return _write_body(eval_id, eval_index, index, Warnings="")


def deregister(state: ClusterState, driver: DtleDriver, job_id: str, purge: bool) -> dict:
    with state.lock:
        record = state.jobs.get(job_id)
        eval_id = state.uuid()
        index = state.next_index()
        eval_index = state.next_index() if state.dialect == "0.11.1" else index
        state.bump("evals", index=eval_index)
        if record is None:  # unknown job: still 200 with a real EvalID (§4.7)
            state.eval_event(job_id, eval_id, "JobDeregistered", "job-deregister", eval_index, index)
            return _write_body(eval_id, eval_index, index, VolumeEvalID="", VolumeEvalIndex=0)
        if purge:
            del state.jobs[job_id]
            for alloc in record.allocs:
                state.allocs.pop(alloc.id, None)
            state.bump("jobs", "job_summary", "allocs", index=index)
            # Deleting a job emits no Job event in 1.1.2 (events.go handles deletes of nodes and ACL
            # objects only): the stream tells of a purge through the deregistration's evaluation alone.
            state.eval_event(job_id, eval_id, "JobDeregistered", "job-deregister", eval_index, index)
            state._cache.clear()
            return _write_body(eval_id, eval_index, index, VolumeEvalID="", VolumeEvalIndex=0)
        if not record.job["Stop"]:
            job = dict(record.job)
            job.update(Stop=True, Version=job["Version"] + 1, ModifyIndex=index, JobModifyIndex=index,
                       SubmitTime=state.now(), Stable=False)
            record.job = job
            record.cache.clear()
        state.bump("jobs", index=index)
        state.job_event(record, "JobDeregistered", index)
        state.eval_event(job_id, eval_id, "JobDeregistered", "job-deregister", eval_index, index)
        for alloc in record.allocs:
            driver.stop(alloc, "alloc not needed due to job update")
        state.refresh_job(record, state.table_index("allocs"))
        return _write_body(eval_id, eval_index, index, VolumeEvalID="", VolumeEvalIndex=0)


def _write_body(eval_id: str, eval_index: int, job_index: int, **extra) -> dict:
    body = {"EvalCreateIndex": eval_index, "EvalID": eval_id, "Index": eval_index, "JobModifyIndex": job_index,
            "KnownLeader": False, "LastContact": 0}
    body.update(extra)
    return body
