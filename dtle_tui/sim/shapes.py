"""Wire objects of Nomad 0.11.1 and 1.1.2, with the exact field sets of the recorded real answers.

Field sets come from tests/fixtures/real-nomad/<ver>/ (nomad-api.md §0: struct fields alphabetical at every
level, every non-omitempty field emitted, zero times null, epochs and durations int64 ns). The JSON is
written with sort_keys, which reproduces the alphabetical struct order; maps are unordered on real agents.
"""

from __future__ import annotations

from .gocompat import format_duration, go_quote, rfc3339nano

SEC = 1_000_000_000
MIN = 60 * SEC
HOUR = 60 * MIN


def is_new(dialect: str) -> bool:
    return dialect == "1.1.2"


# ---- job (§4.2) ----------------------------------------------------------------------------------------

def job_update_default() -> dict:
    # Job-level Update after canonicalisation, as the real agents store it.
    return {"AutoPromote": False, "AutoRevert": False, "Canary": 0, "HealthCheck": "", "HealthyDeadline": 0,
            "MaxParallel": 1, "MinHealthyTime": 0, "ProgressDeadline": 0, "Stagger": 30 * SEC}


def group_update_default() -> dict:
    return {"AutoPromote": False, "AutoRevert": False, "Canary": 0, "HealthCheck": "checks",
            "HealthyDeadline": 5 * MIN, "MaxParallel": 1, "MinHealthyTime": 10 * SEC,
            "ProgressDeadline": 10 * MIN, "Stagger": 30 * SEC}


def restart_default(job_type: str) -> dict:
    if job_type == "batch":
        return {"Attempts": 3, "Delay": 15 * SEC, "Interval": 24 * HOUR, "Mode": "fail"}
    return {"Attempts": 2, "Delay": 15 * SEC, "Interval": 30 * MIN, "Mode": "fail"}


def reschedule_default(job_type: str) -> dict:
    if job_type == "batch":
        return {"Attempts": 1, "Delay": 5 * SEC, "DelayFunction": "constant", "Interval": 24 * HOUR,
                "MaxDelay": 0, "Unlimited": False}
    return {"Attempts": 0, "Delay": 30 * SEC, "DelayFunction": "exponential", "Interval": 0,
            "MaxDelay": HOUR, "Unlimited": True}


def _merge(base: dict, override: dict | None) -> dict:
    out = dict(base)
    for key, value in (override or {}).items():
        if key in out and value is not None:
            out[key] = value
    return out


def task_resources(dialect: str, spec: dict | None) -> dict:
    spec = spec or {}
    out = {"CPU": spec.get("CPU") or 100, "Devices": spec.get("Devices"), "DiskMB": spec.get("DiskMB") or 0,
           "IOPS": spec.get("IOPS") or 0, "MemoryMB": spec.get("MemoryMB") or 300,
           "Networks": spec.get("Networks")}
    if is_new(dialect):
        out["Cores"] = spec.get("Cores") or 0
        out["MemoryMaxMB"] = spec.get("MemoryMaxMB") or 0
    return out


def canonical_task(dialect: str, spec: dict, restart: dict) -> dict:
    """api.Task.Canonicalize + conversion to structs.Task (task inherits the group's RestartPolicy)."""
    task = {
        "Affinities": spec.get("Affinities"), "Artifacts": spec.get("Artifacts"),
        "CSIPluginConfig": spec.get("CSIPluginConfig"), "Config": spec.get("Config"),
        "Constraints": spec.get("Constraints"), "DispatchPayload": spec.get("DispatchPayload"),
        "Driver": spec.get("Driver") or "", "Env": spec.get("Env"), "KillSignal": spec.get("KillSignal") or "",
        "KillTimeout": spec.get("KillTimeout") if spec.get("KillTimeout") is not None else 5 * SEC,
        "Kind": spec.get("Kind") or "", "Leader": bool(spec.get("Leader")), "Lifecycle": spec.get("Lifecycle"),
        "LogConfig": _merge({"MaxFileSizeMB": 10, "MaxFiles": 10}, spec.get("LogConfig")),
        "Meta": spec.get("Meta"), "Name": spec.get("Name") or "",
        "Resources": task_resources(dialect, spec.get("Resources")), "RestartPolicy": dict(restart),
        "Services": spec.get("Services"), "ShutdownDelay": spec.get("ShutdownDelay") or 0,
        "Templates": spec.get("Templates"), "User": spec.get("User") or "", "Vault": spec.get("Vault"),
        "VolumeMounts": spec.get("VolumeMounts"),
    }
    if is_new(dialect):
        task["ScalingPolicies"] = spec.get("ScalingPolicies")
    return task


def canonical_group(dialect: str, spec: dict, job_type: str, job_reschedule: dict | None) -> dict:
    restart = _merge(restart_default(job_type), spec.get("RestartPolicy"))
    # Job-level `Reschedule` merges under the group's own ReschedulePolicy (§4.2, §4.6).
    reschedule = _merge(_merge(reschedule_default(job_type), job_reschedule), spec.get("ReschedulePolicy"))
    group = {
        "Affinities": spec.get("Affinities"), "Constraints": spec.get("Constraints"),
        "Count": spec.get("Count") if spec.get("Count") is not None else 1,
        "EphemeralDisk": _merge({"Migrate": False, "SizeMB": 300, "Sticky": False}, spec.get("EphemeralDisk")),
        "Meta": spec.get("Meta"),
        "Migrate": _merge({"HealthCheck": "checks", "HealthyDeadline": 5 * MIN, "MaxParallel": 1,
                           "MinHealthyTime": 10 * SEC}, spec.get("Migrate")),
        "Name": spec.get("Name") or "", "Networks": spec.get("Networks"),
        "ReschedulePolicy": reschedule, "RestartPolicy": restart, "Scaling": spec.get("Scaling"),
        "Services": spec.get("Services"), "ShutdownDelay": spec.get("ShutdownDelay"),
        "Spreads": spec.get("Spreads"),
        "Tasks": [canonical_task(dialect, t, restart) for t in (spec.get("Tasks") or [])],
        "Update": _merge(group_update_default(), spec.get("Update")) if job_type == "service" else None,
        "Volumes": spec.get("Volumes"),
    }
    if is_new(dialect):
        group["Consul"] = _merge({"Namespace": ""}, spec.get("Consul"))
        group["StopAfterClientDisconnect"] = spec.get("StopAfterClientDisconnect")
    return group


def canonical_job(dialect: str, spec: dict) -> dict:
    """A stored structs.Job from a decoded api.Job (keys already canonical); indexes filled by the caller."""
    job_type = spec.get("Type") or "service"
    job = {
        "Affinities": spec.get("Affinities"), "AllAtOnce": bool(spec.get("AllAtOnce")),
        "Constraints": spec.get("Constraints"), "ConsulToken": "",  # tokens cleared before storing (§4.6)
        "CreateIndex": 0, "Datacenters": spec.get("Datacenters"), "Dispatched": bool(spec.get("Dispatched")),
        "ID": spec["ID"], "JobModifyIndex": 0, "Meta": spec.get("Meta"), "ModifyIndex": 0,
        "Name": spec.get("Name") or spec["ID"], "Namespace": spec.get("Namespace") or "default",
        "ParameterizedJob": spec.get("ParameterizedJob"), "ParentID": spec.get("ParentID") or "",
        "Payload": spec.get("Payload"), "Periodic": spec.get("Periodic"),
        "Priority": spec.get("Priority") if spec.get("Priority") is not None else 50,
        "Region": spec.get("Region") or "global", "Spreads": spec.get("Spreads"), "Stable": False,
        "Status": "pending", "StatusDescription": "", "Stop": bool(spec.get("Stop")), "SubmitTime": 0,
        "TaskGroups": [canonical_group(dialect, g, job_type, spec.get("Reschedule"))
                       for g in (spec.get("TaskGroups") or [])],
        "Type": job_type, "Update": _merge(job_update_default(), spec.get("Update")), "VaultToken": "",
        "Version": 0,
    }
    if is_new(dialect):
        job.update({"ConsulNamespace": spec.get("ConsulNamespace") or "", "Multiregion": spec.get("Multiregion"),
                    "NomadTokenID": "", "VaultNamespace": spec.get("VaultNamespace") or ""})
    return job


def job_stub(dialect: str, job: dict, summary: dict) -> dict:
    """JobListStub (§4.1): Periodic/ParameterizedJob become booleans; Namespace/Multiregion only in 1.1.2."""
    stub = {key: job[key] for key in ("CreateIndex", "Datacenters", "ID", "JobModifyIndex", "ModifyIndex",
                                      "Name", "ParentID", "Priority", "Status", "StatusDescription", "Stop",
                                      "SubmitTime", "Type")}
    stub["JobSummary"] = summary
    stub["ParameterizedJob"] = job["ParameterizedJob"] is not None
    stub["Periodic"] = job["Periodic"] is not None
    if is_new(dialect):
        stub["Namespace"] = job["Namespace"]
        stub["Multiregion"] = job.get("Multiregion")
    return stub


def job_summary(job_id: str, groups: dict, create_index: int, modify_index: int) -> dict:
    return {"Children": {"Dead": 0, "Pending": 0, "Running": 0}, "CreateIndex": create_index, "JobID": job_id,
            "ModifyIndex": modify_index, "Namespace": "default", "Summary": groups}


# ---- task events (§4.3) --------------------------------------------------------------------------------

_EVENT_FIELDS = {"DiskLimit": 0, "DownloadError": "", "DriverError": "", "DriverMessage": "", "ExitCode": 0,
                 "FailedSibling": "", "FailsTask": False, "GenericSource": "", "KillError": "", "KillReason": "",
                 "KillTimeout": 0, "Message": "", "RestartReason": "", "SetupError": "", "Signal": 0,
                 "StartDelay": 0, "TaskSignal": "", "TaskSignalReason": "", "ValidationError": "",
                 "VaultError": ""}


def task_event(kind: str, time_ns: int, details: dict | None = None, **fields) -> dict:
    event = dict(_EVENT_FIELDS)
    event.update(fields)
    event["Type"] = kind
    event["Time"] = time_ns
    event["Details"] = dict(details or {})
    event["DisplayMessage"] = display_message(event)
    return event


def display_message(e: dict) -> str:
    """TaskEvent.PopulateEventDisplayMessage (nomad-api.md §4.3)."""
    kind = e["Type"]
    if kind == "Received":
        return "Task received by client"
    if kind == "Started":
        return "Task started by client"
    if kind == "Driver":
        return e["DriverMessage"]
    if kind == "Terminated":
        text = f"Exit Code: {e['ExitCode']}"
        if e["Signal"]:
            text += f", Signal: {e['Signal']}"
        if e["Message"]:
            text += f", Exit Message: {go_quote(e['Message'])}"
        return text
    if kind == "Killing":
        return e["KillReason"] or f"Sent interrupt. Waiting {format_duration(e['KillTimeout'])} before force killing"
    if kind == "Killed":
        return e["KillError"] or "Task successfully killed"
    if kind == "Restarting":
        text = f"Task restarting in {format_duration(e['StartDelay'])}"
        return f"{e['RestartReason']} - {text}" if e["RestartReason"] and e["RestartReason"] != \
            "Restart within policy" else text
    if kind == "Not Restarting":
        return e["RestartReason"] or "Task exceeded restart policy"
    if kind == "Driver Failure":
        return e["DriverError"] or "Failed to start task"
    if kind == "Leader Task Dead":
        return "Leader Task in Group dead"
    return e["Message"]


def task_state(dialect: str, ts) -> dict:
    out = {"Events": ts.events, "Failed": ts.failed, "FinishedAt": rfc3339nano(ts.finished_at),
           "LastRestart": rfc3339nano(ts.last_restart), "Restarts": ts.restarts,
           "StartedAt": rfc3339nano(ts.started_at), "State": ts.state}
    if is_new(dialect):
        out["TaskHandle"] = None
    return out


# ---- allocations (§4.3, §4.4) -------------------------------------------------------------------------

def deployment_status(alloc) -> dict | None:
    if alloc.healthy is None:
        return None
    return {"Canary": False, "Healthy": alloc.healthy, "ModifyIndex": alloc.health_index,
            "Timestamp": rfc3339nano(alloc.health_time)}


def desired_transition(alloc) -> dict:
    return {"ForceReschedule": None, "Migrate": getattr(alloc, "migrate_transition", None),
            "Reschedule": alloc.reschedule_transition}


def reschedule_tracker(alloc) -> dict | None:
    return {"Events": alloc.reschedule_events} if alloc.reschedule_events else None


def alloc_stub(dialect: str, alloc) -> dict:
    return {
        "ClientDescription": alloc.client_description, "ClientStatus": alloc.client_status,
        "CreateIndex": alloc.create_index, "CreateTime": alloc.create_time,
        "DeploymentStatus": deployment_status(alloc), "DesiredDescription": alloc.desired_description,
        "DesiredStatus": alloc.desired_status, "DesiredTransition": desired_transition(alloc),
        "EvalID": alloc.eval_id, "FollowupEvalID": alloc.followup_eval_id, "ID": alloc.id, "JobID": alloc.job_id,
        "JobType": alloc.job["Type"], "JobVersion": alloc.job["Version"], "ModifyIndex": alloc.modify_index,
        "ModifyTime": alloc.modify_time, "Name": alloc.name, "Namespace": "default", "NodeID": alloc.node.id,
        "NodeName": alloc.node.name, "PreemptedAllocations": None, "PreemptedByAllocation": "",
        "RescheduleTracker": reschedule_tracker(alloc), "TaskGroup": alloc.task_group,
        "TaskStates": {name: task_state(dialect, ts) for name, ts in alloc.task_states.items()},
    }


def alloc_full(dialect: str, alloc) -> dict:
    """structs.Allocation has `_struct bool codec:",omitempty"`: its own zero-valued fields are left out
    (the recordings show DesiredTransition, NextAllocation, FollowupEvalID, ... only when set)."""
    new = is_new(dialect)
    task = next(t for g in alloc.job["TaskGroups"] if g["Name"] == alloc.task_group for t in g["Tasks"])
    res = task["Resources"]
    disk = next(g["EphemeralDisk"]["SizeMB"] for g in alloc.job["TaskGroups"] if g["Name"] == alloc.task_group)
    cpu = {"CpuShares": res["CPU"]}
    memory = {"MemoryMB": res["MemoryMB"]}
    shared = {"DiskMB": disk, "Networks": None}
    if new:
        cpu["ReservedCores"] = None
        memory["MemoryMaxMB"] = res.get("MemoryMaxMB", 0)
        shared["Ports"] = None
    resources = dict(res, DiskMB=disk)
    shared_resources = {k: 0 for k in res}
    shared_resources.update({"Devices": None, "Networks": None, "DiskMB": disk})
    if new:
        resources["MemoryMaxMB"] = res["MemoryMB"]
    full = dict(alloc_stub(dialect, alloc))
    for key in ("JobType", "JobVersion", "PreemptedAllocations", "PreemptedByAllocation"):
        full.pop(key)
    full.update({
        "AllocModifyIndex": alloc.alloc_modify_index,
        "AllocatedResources": {"Shared": shared, "TaskLifecycles": {task["Name"]: None},
                               "Tasks": {task["Name"]: {"Cpu": cpu, "Devices": None, "Memory": memory,
                                                        "Networks": None}}},
        "DeploymentID": alloc.deployment_id, "Job": alloc.job, "Metrics": metrics(alloc),
        "NextAllocation": alloc.next_allocation, "PreviousAllocation": alloc.previous_allocation,
        "Resources": resources, "SharedResources": shared_resources, "TaskResources": {task["Name"]: res},
    })
    if new:
        full["NetworkStatus"] = {"Address": "", "DNS": None, "InterfaceName": ""}
    if not any(v is not None for v in full["DesiredTransition"].values()):
        full["DesiredTransition"] = None
    return {k: v for k, v in full.items() if v not in ("", 0, None, False, {}, [])}


def metrics(alloc) -> dict:
    return {"AllocationTime": 41_873, "ClassExhausted": None, "ClassFiltered": None, "CoalescedFailures": 0,
            "ConstraintFiltered": None, "DimensionExhausted": None, "NodesAvailable": {"dc1": 2},
            "NodesEvaluated": 2, "NodesExhausted": 0, "NodesFiltered": 1, "QuotaExhausted": None,
            **({"ResourcesExhausted": None} if alloc.dialect == "1.1.2" else {}),
            "ScoreMetaData": [{"NodeID": alloc.node.id, "NormScore": 0.0644455629810948,
                               "Scores": {"binpack": 0.0644455629810948, "job-anti-affinity": 0.0,
                                          "node-affinity": 0.0, "node-reschedule-penalty": 0.0}}],
            "Scores": None}


# ---- nodes (§4.5) --------------------------------------------------------------------------------------

def node_drivers(node) -> dict:
    update = rfc3339nano(node.driver_time)
    drivers = {
        "raw_exec": {"Attributes": {"driver.raw_exec": "true"}, "Detected": True, "HealthDescription": "Healthy",
                     "Healthy": True, "UpdateTime": update},
        "docker": {"Attributes": None, "Detected": False,
                   "HealthDescription": "Failed to connect to docker daemon", "Healthy": False,
                   "UpdateTime": update},
    }
    if node.dtle is not None:
        healthy, description = node.dtle
        drivers["dtle"] = {"Attributes": dtle_attributes() if healthy else None, "Detected": True,
                           "HealthDescription": description, "Healthy": healthy, "UpdateTime": update}
    return drivers


def dtle_attributes() -> dict:
    # dtle.md §8: the plugin fingerprint of v3.21.11.0.
    return {"driver.dtle": "true", "driver.dtle.version": "3.21.11.0",
            "driver.dtle.full_version": "3.21.11.0-3.21.11.x-95f4e8b"}


def node_stub(dialect: str, node) -> dict:
    stub = {"Address": node.address, "CreateIndex": node.create_index,
            "Datacenter": getattr(node, "datacenter", "dc1"), "Drain": getattr(node, "drain", False),
            "Drivers": node_drivers(node), "HostVolumes": None, "ID": node.id, "ModifyIndex": node.modify_index,
            "Name": node.name, "NodeClass": "", "SchedulingEligibility": node.eligibility,
            "Status": node.status, "StatusDescription": "", "Version": node.version}
    if is_new(dialect):
        stub["LastDrain"] = getattr(node, "last_drain", None)
    return stub


def node_full(dialect: str, node) -> dict:
    new = is_new(dialect)
    network = {"CIDR": f"{node.address}/32", "Device": "eth0", "DynamicPorts": None, "IP": node.address,
               "MBits": 1000, "Mode": "host" if new else "", "ReservedPorts": None}
    if new:
        network["DNS"] = None
    resources = {"CPU": 8000, "Devices": None, "DiskMB": 200_000, "IOPS": 0, "MemoryMB": 15_885,
                 "Networks": [network]}
    reserved = {"CPU": 0, "Devices": None, "DiskMB": 0, "IOPS": 0, "MemoryMB": 0, "Networks": None}
    cpu = {"CpuShares": 8000}
    node_resources = {"Cpu": cpu, "Devices": None, "Disk": {"DiskMB": 200_000}, "Memory": {"MemoryMB": 15_885},
                      "Networks": [network]}
    reserved_cpu = {"CpuShares": 0}
    if new:
        resources.update({"Cores": 0, "MemoryMaxMB": 0})
        reserved.update({"Cores": 0, "MemoryMaxMB": 0})
        cpu.update({"ReservableCpuCores": [0, 1, 2, 3], "TotalCpuCores": 4})
        reserved_cpu["ReservedCpuCores"] = None
        node_resources["NodeNetworks"] = [{
            "Addresses": [{"Address": node.address, "Alias": "default", "Family": "ipv4", "Gateway": "",
                           "ReservedPorts": ""}],
            "Device": "eth0", "MacAddress": "52:54:00:12:34:56", "Mode": "host", "Speed": 1000}]
    attributes = {"cpu.arch": "amd64", "cpu.numcores": "4", "kernel.name": "linux", "os.name": "centos",
                  "nomad.version": node.version, "unique.hostname": node.name,
                  "unique.network.ip-address": node.address, "driver.raw_exec": "1"}
    if node.dtle is not None and node.dtle[0]:
        attributes.update(dtle_attributes())
    full = {
        "Attributes": attributes, "CSIControllerPlugins": None, "CSINodePlugins": None,
        "ComputedClass": "v1:12860490090382095868", "CreateIndex": node.create_index,
        "Datacenter": getattr(node, "datacenter", "dc1"), "Drain": getattr(node, "drain", False),
        "DrainStrategy": getattr(node, "drain_strategy", None), "Drivers": node_drivers(node),
        "Events": [{"CreateIndex": 0, "Details": None, "Message": "Node registered", "Subsystem": "Cluster",
                    "Timestamp": rfc3339nano(node.registered // SEC * SEC)}] + list(getattr(node, "extra_events", [])),
        "HTTPAddr": f"{node.address}:{node.http_port}", "HostVolumes": None, "ID": node.id, "Links": None,
        "Meta": {"connect.log_level": "info", "connect.sidecar_image": "envoyproxy/envoy:v1.11.2"},
        "ModifyIndex": node.modify_index, "Name": node.name, "NodeClass": "", "NodeResources": node_resources,
        "Reserved": reserved,
        "ReservedResources": {"Cpu": reserved_cpu, "Disk": {"DiskMB": 0}, "Memory": {"MemoryMB": 0},
                              "Networks": {"ReservedHostPorts": ""}},
        "Resources": resources, "SchedulingEligibility": node.eligibility, "SecretID": "",
        "Status": node.status, "StatusDescription": "", "StatusUpdatedAt": node.registered // SEC,
        "TLSEnabled": False,
    }
    if new:
        full["LastDrain"] = getattr(node, "last_drain", None)
    return full
