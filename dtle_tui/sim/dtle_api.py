"""Each simulated node's Nomad client agent and dtle API, on the node's own loopback address.

- The client agent (`HTTPAddr` of /v1/node/<id>) answers `/v1/agent/self` for that node, with the dtle
  plugin config in `config.Plugins` as live agents show it (dtle-monitor.md §7: a list of
  `{Args, Config{…flat HCL keys…}, Name}`); everything else goes to the cluster's Nomad, as a client
  agent forwards to the servers.
- The dtle API answers `GET /v2/monitor/task` with the field semantics of §2: the full copy advances
  rows over the job's full-copy time (dest rows exact, the total InnoDB's estimate, so a job may end
  above 100 %), dtle's ETA formula; in the incremental the delay in seconds, the backlog `n/cap`, the
  applied position; the src percentage frozen at its final ratio and its tx counters counting loop
  ticks; the stalled job's delay frozen with its Gtid; Kafka blanks; the error answers of §1.5; for a
  task of a job whose dest never reached its MySQL, dtle's all-zero answer (`stage ""`, real-dtle.md §6).
  Every other route wants a token dtle's own login hands out (the simulator hands out none): 401
  `permission denied,please login again!`; `POST /v2/login` answers 400 `verfied failed` (the captcha).
  A request for an allocation on another node is answered as dtle's forwarding would (the other node's
  answer), unless that node's `nomad_addr` host differs from its advertise host: then dtle forwards to
  itself for ever (§1.3), which the client sees as a hang.
"""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING

from . import shapes
from .agentlog import monitor_endpoint
from .dtle import is_mysql_dest, task_driver
from .faults import Faults
from .server import Request, RequestLog, Response, SimServer, json_response, stop_together

if TYPE_CHECKING:
    from .dtle import DtleDriver
    from .state import Alloc, ClusterState, Node

S = shapes.SEC


def _go_duration_s(seconds: float) -> str:
    """Go's Duration.String() of whole seconds: "0s", "45s", "3m0s", "1h2m3s"."""
    total = int(seconds)
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    if h:
        return f"{h}h{m}m{s}s"
    if m:
        return f"{m}m{s}s"
    return f"{s}s"


def _pct(done: int, total: int) -> float:
    return 100.0 * done / total if total else 0.0


def _eta(pct: float, elapsed_s: float, read: int, done: int) -> str:
    # extractor.go / applier.go Stats(): "N/A" below 1 %, "0s" from 100 %, else elapsed·read/exec − elapsed.
    if pct < 1.0 or not done:
        return "N/A"
    if pct >= 100.0:
        return "0s"
    return _go_duration_s(max(0.0, elapsed_s * read / done - elapsed_s))


DTLE_JSON = "application/json; charset=UTF-8"  # dtle API's JSON answers (recorded)


def _error(message: str, status: int = 500) -> Response:
    answer = json_response({"message": message}, status)
    answer.content_type = DTLE_JSON
    return answer


class JobFigures:
    """The numbers of one job, derived from its name so every run of a seed shows the same."""

    def __init__(self, job_id: str) -> None:
        h = zlib.crc32(job_id.encode())
        self.h = h
        self.estimate = 200_000 + h % 1_800_000  # Σ information_schema.tables.table_rows
        self.tables = 3 + h % 20
        self.ratio = (0.987, 1.034, 0.995, 1.012)[h % 4]  # real rows / estimate
        self.actual = int(self.estimate * self.ratio)


class DtleNode:
    """The dtle API and the client agent of one node; `nomad_addr` is its dtle plugin config's."""

    def __init__(self, cluster, node: Node, faults: Faults, log: RequestLog, lost: set) -> None:
        self.cluster = cluster
        self.lost = lost
        self.node = node
        self.nomad_addr = ""  # set once the agent listens: its HTTPAddr, the configuration that works
        self.tokens_seen: list = []  # the X-Nomad-Token of each request to this dtle API (None: none sent)
        self.dtle = SimServer("dtle", self, faults, log, self.fault_body, host=node.address)
        self.agent = SimServer("nomad-client", self.agent_app, Faults(), log,
                               cluster._nomad_api.fault_body, host=node.address)

    @property
    def state(self) -> ClusterState:
        return self.cluster.state

    @property
    def driver(self) -> DtleDriver:
        return self.cluster.driver

    def start(self) -> None:
        self.agent.start()
        self.node.http_port = self.agent.port
        self.dtle.start()
        self.nomad_addr = f"{self.node.address}:{self.agent.port}"

    def stop(self) -> None:
        stop_together((self.dtle, self.agent))

    def fault_body(self, status: int) -> Response:
        if status == 404:
            return _error("Not Found", 404)
        return _error(f"simulated dtle error {status}", status)

    # ---- the client agent ----------------------------------------------------------------------------
    def agent_app(self, request: Request) -> Response:
        if request.path == "/v1/agent/self":
            denied = self.cluster._nomad_api._acl(request)  # agent:read under ACLs, as the servers' own
            if denied is not None:
                return denied
            body = self.cluster.agent_self()
            config = dict(body["config"], NodeName=self.node.name)
            config["Plugins"] = [
                {"Args": None, "Config": {"enabled": True}, "Name": "raw_exec"},
                {"Args": None, "Name": "dtle", "Config": {
                    "api_addr": f"0.0.0.0:{self.dtle.port}", "nomad_addr": self.nomad_addr,
                    "nats_bind": f"{self.node.address}:8193", "nats_advertise": f"{self.node.address}:8193",
                    "consul": "127.0.0.1:8500", "publish_metrics": False, "stats_collection_interval": 15}},
            ]
            return json_response(dict(body, config=config))
        if request.path == "/v1/agent/monitor" and not request.arg("node_id") and not request.arg("server_id"):
            denied = self.cluster._nomad_api._get_only(request)
            return denied or monitor_endpoint(request, self.cluster.agent_logs, self.node.id, True,
                                              self.agent.stopping)  # this agent's own log
        return self.cluster._nomad_api(request)  # a client agent forwards the rest to the servers

    # ---- the dtle API --------------------------------------------------------------------------------
    def __call__(self, request: Request) -> Response:
        self.tokens_seen.append(request.headers.get("X-Nomad-Token"))  # dtle wants none (§1.1): tests check
        if request.path == "/v2/login" and request.method == "POST":
            return _error("verfied failed", 400)  # sic: no captcha can be solved here (recorded text)
        if request.path != "/v2/monitor/task" or request.method != "GET":
            return _error("permission denied,please login again!", 401)
        alloc_id, task = request.arg("allocation_id", ""), request.arg("task_name", "")
        missing = [f"Key: 'GetTaskProgressReqV2.{name}' Error:Field validation for '{name}' failed on the "
                   f"'required' tag" for name, value in (("AllocationId", alloc_id), ("TaskName", task)) if not value]
        if missing:
            return _error("invalid params:\n" + "\n".join(missing))
        given = request.arg("nomad_http_address", "")
        with self.state.lock:
            alloc = self.state.allocs.get(alloc_id or "")
            if given:
                target_host = given.rsplit(":", 1)[0]
            elif alloc is None:
                return _error("can not find out which node the allocation is running on")
            else:
                target_host = alloc.node.address
            if target_host == self.nomad_addr.rsplit(":", 1)[0]:
                return self.local(alloc, alloc_id or "", task or "")
            other = self.cluster.dtle_node_at(target_host)
        where = given or (f"{alloc.node.address}:{alloc.node.http_port}" if alloc else "")
        return self.forward(other, where, alloc, alloc_id or "", task or "", request)

    def forward(self, other, where: str, alloc, alloc_id: str, task: str, request: Request) -> Response:
        if other is None or other.agent.port == 0 or other.node.status == "down":
            return _error(f"invoke nomad api http://{where}/v1/agent/self failed: send request failed: "
                          f"dial tcp {where}: connect: connection refused")
        if other.nomad_addr.rsplit(":", 1)[0] != other.node.address:
            # The target repeats the lookup, finds it must forward, and so on (§1.3): a hang for the client.
            stopping = self.dtle.stopping
            while not stopping.is_set() and not request.client_gone():
                stopping.wait(0.05)
            return Response(500, b"", None)
        with self.state.lock:
            return other.local(alloc, alloc_id, task)

    def local(self, alloc: Alloc | None, alloc_id: str, task: str) -> Response:
        """The answer of GetTaskStatistics on this node (caller holds the state lock)."""
        run = alloc.task_states.get(task) if alloc is not None and alloc.node is self.node else None
        if (alloc_id, task) in self.lost:
            run = None  # Nomad says running, dtle's registry has no such task (a restart under way, §1.5)
        if run is not None and task_driver(alloc, task) != "dtle":
            run = None  # another driver's task (sim/sidecar.py): not in dtle's registry
        if run is None or run.state != "running" or alloc is None or alloc.terminal:
            return _error(f"can not find the task. allocation_id={alloc_id} task_name={task}")
        if alloc.job_id in self.driver.unconnected:
            return Response(200, shapes_dumps({"tasks_status": zero_answer(self.state.now()), "message": "ok"}),
                            DTLE_JSON)
        status = self.figures(alloc, task, run)
        return Response(200, shapes_dumps({"tasks_status": status, "message": "ok"}), DTLE_JSON)

    def figures(self, alloc: Alloc, task: str, run) -> dict:
        now = self.state.now()
        job_id = alloc.job_id
        f = JobFigures(job_id)
        rep = self.driver.replications.get(job_id)
        record = self.state.jobs.get(job_id)
        dest = next((a for a in (record.allocs if record else []) if a.task_group == "dest"
                     and a.client_status == "running"), None)
        dest_start = (dest.task_states["dest"].started_at if dest else None) or run.started_at or now
        incr = rep is not None and rep.since is not None
        incr_only = bool(alloc.job["TaskGroups"][0]["Tasks"][0].get("Config", {}).get("Gtid"))
        # The rows reach the real count when the driver moves the job to incremental.
        ends = self.driver.full_copy_ends.get(job_id) or dest_start + 120 * S
        elapsed_full = max(0.0, (now - dest_start) / S)
        frac = 1.0 if incr else min(1.0, elapsed_full / max(1.0, (ends - dest_start) / S))
        rows = 0 if incr_only else int(f.actual * frac)
        stalled = rep is not None and rep.stalled
        tick = (now // S) // 3  # moves every 3 s: the delay and queues jitter a little
        delay = (f.h % 300 + 12) if stalled else int((f.h + tick) % 3) if incr else 0
        gtid = rep.gtid(now) if rep is not None else ""
        applied = int(rep.rate * (now - rep.since) / S) if incr and rep and rep.since and not stalled else 0
        if stalled:
            applied = 1000 + f.h % 5000  # where the applier stopped
        file_no, pos = rep.binlog if rep else (1, 4)
        if incr and not stalled and rep and rep.since:
            pos = 4567 + applied * 311
            file_no, pos = file_no + pos // 1_073_741_824, pos % 1_073_741_824
        coords = {"file": f"mysql-bin.{file_no:06d}" if incr else "", "position": pos if incr else 0,
                  "gtid_set": gtid if incr else "", "relay_master_log_file": "", "read_master_log_pos": 0,
                  "retrieved_gtid_set": ""}
        kafka = task == "dest" and not is_mysql_dest(alloc)
        base = {"current_coordinates": coords, "delay_count": {"num": 0, "time": delay},
                "throughput_status": None,
                "nats_message_status": {"in_messages": 0, "out_messages": 0, "in_bytes": 0, "out_bytes": 0,
                                        "reconnects": 0}}
        buffers = {"binlog_event_queue_size": 0, "extractor_tx_queue_size": 0, "applier_tx_queue_size": 0,
                   "send_by_timeout": 0, "send_by_size_full": 0}
        if kafka:  # kafka3.go Stats(): no progress, no ETA, no backlog, timestamp in seconds
            return dict(base, progress_PCT="", exec_master_row_count=0, exec_master_tx_count=0,
                        read_master_row_count=0, read_master_tx_count=0, ETA="", backlog="",
                        buffer_status=buffers, stage="", timestamp=now // S)
        entries = 0 if incr_only else 1 + f.tables
        if task == "src":
            # Rows sent run a little ahead of the dest; the percentage freezes at the final ratio; the tx
            # counters count the send loop's ticks (~10 a second), not transactions (§2.1).
            sent = rows if frac >= 1.0 else min(f.actual, rows + 2000)
            read_rows, exec_rows = (f.estimate + entries if not incr_only else 0), sent + entries
            pct = _pct(exec_rows, read_rows)
            ticks = int(10 * max(0, now - (run.started_at or now)) / S)
            queue = 128 if stalled else int((f.h + tick) % 5)
            buffers["extractor_tx_queue_size"] = queue
            stage = "Sending binlog event to slave" if incr else "Sending data"
            if pct >= 100.0:
                stage = "Master has sent all binlog to slave; waiting for more updates"
            elapsed_src = max(0.0, (now - (run.started_at or now)) / S)
            return dict(base, progress_PCT=f"{pct:.1f}", exec_master_row_count=exec_rows,
                        exec_master_tx_count=ticks, read_master_row_count=read_rows, read_master_tx_count=ticks,
                        ETA=_eta(pct, elapsed_src, read_rows, exec_rows), backlog=f"{queue}/128",
                        buffer_status=buffers, stage=stage, timestamp=now)
        read_rows = 0 if incr_only else f.estimate
        queue = (96 if stalled else int((f.h + tick) % 4)) if incr else int((f.h + tick) % 16)
        tx_exec, tx_read = applied, applied + (queue if incr else 0)
        pct = _pct(tx_exec + rows, tx_read + read_rows)
        buffers["applier_tx_queue_size"] = queue if incr else 0
        if incr:
            stage = "Waiting for GTID to be committed"
            eta = _eta(pct, max(0.0, (now - dest_start) / S), tx_read, tx_exec)
        else:
            stage = "Waiting for slave workers to process their queues"
            eta = _eta(pct, elapsed_full, read_rows, rows)
        if pct >= 100.0:
            stage = "Slave has read all relay log; waiting for more updates"
        return dict(base, progress_PCT=f"{pct:.1f}", exec_master_row_count=rows, exec_master_tx_count=tx_exec,
                    read_master_row_count=read_rows, read_master_tx_count=tx_read, ETA=eta,
                    backlog=f"{queue}/{96 if incr else 16}", buffer_status=buffers, stage=stage, timestamp=now)


def zero_answer(now_ns: int) -> dict:
    """What dtle answers for a task that never began copying: zeros, "0.0", "N/A", `stage ""` (recorded)."""
    return {"current_coordinates": {"file": "", "position": 0, "gtid_set": "", "relay_master_log_file": "",
                                    "read_master_log_pos": 0, "retrieved_gtid_set": ""},
            "delay_count": {"num": 0, "time": 0}, "progress_PCT": "0.0", "exec_master_row_count": 0,
            "exec_master_tx_count": 0, "read_master_row_count": 0, "read_master_tx_count": 0, "ETA": "N/A",
            "backlog": "0/128", "throughput_status": None,
            "nats_message_status": {"in_messages": 0, "out_messages": 0, "in_bytes": 0, "out_bytes": 0,
                                    "reconnects": 0},
            "buffer_status": {"binlog_event_queue_size": 0, "extractor_tx_queue_size": 0, "applier_tx_queue_size": 0,
                              "send_by_timeout": 0, "send_by_size_full": 0},
            "stage": "", "timestamp": now_ns}


def shapes_dumps(payload: dict) -> bytes:
    # Go's encoding/json writes struct fields in declaration order; nothing may depend on it, so sorted.
    import json

    return json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()


class DtleApis:
    """Every node's agent and dtle API; nodes whose status is `down` listen nowhere."""

    def __init__(self, cluster, log: RequestLog) -> None:
        self.faults = Faults()  # shared by every node's dtle API
        self.lost: set = set()  # (allocation ID, task) every dtle answers "can not find the task" for
        self.nodes = [DtleNode(cluster, node, self.faults, log, self.lost) for node in cluster.state.nodes]
        # One knob set for all: `down` closes (and re-opens) every listening node's dtle API.
        self.faults.on_down_change(self._set_down)

    def _set_down(self, down: bool) -> None:
        for api in self.nodes:
            if api.node.status != "down" and api.dtle.port:
                api.dtle._set_down(down)

    def start(self) -> None:
        for api in self.nodes:
            if api.node.status != "down":
                api.start()

    def stop(self) -> None:
        stop_together(self.nodes)

    def at(self, host: str):
        return next((api for api in self.nodes if api.node.address == host), None)

    def of(self, node_name: str) -> DtleNode:
        return next(api for api in self.nodes if api.node.name == node_name)
