"""Simulated dtle cluster: Nomad (0.11.1 or 1.1.2) and Consul 1.7.2 HTTP servers on 127.0.0.1.

    from dtle_tui.sim import SimCluster, Faults
    with SimCluster(dialect="1.1", seed=1) as sim:
        sim.nomad_addr, sim.consul_addr, sim.nomad_faults.latency = 0.2, sim.scenario.advance(60)
"""

from __future__ import annotations

import threading

from . import restart
from .agentlog import AgentLogs
from .consul_api import ConsulApi
from .dtle import DtleDriver
from .dtle_api import DtleApis
from .faults import Faults
from .kvstore import KVStore
from .logs import LogStore
from .nomad_api import NomadApi
from .scenario import Scenario
from .server import RequestLog, SimServer, stop_together
from .state import ClusterState

__all__ = ["SimCluster", "Faults", "normalize_dialect"]

_DIALECTS = {"1.1": "1.1.2", "1.1.2": "1.1.2", "0.11": "0.11.1", "0.11.1": "0.11.1"}
TICK_SECONDS = 0.25


def normalize_dialect(dialect: str) -> str:
    try:
        return _DIALECTS[str(dialect)]
    except KeyError:
        raise ValueError(f"unknown Nomad dialect {dialect!r} (use 0.11 or 1.1)") from None


class SimCluster:
    def __init__(self, dialect: str = "1.1", jobs: int | None = None, seed: int = 1, frozen: bool = False,
                 acl_token: str | None = None, consul_token: str | None = None, troubles: bool = False,
                 acl_tokens: dict | None = None) -> None:
        self.dialect = normalize_dialect(dialect)
        self.frozen = frozen
        self.state = ClusterState(self.dialect, seed, frozen)
        self.kv = KVStore()
        self.logs = LogStore()
        self.agent_logs = AgentLogs()
        self.driver = DtleDriver(self.state, self.kv, self.logs, self.agent_logs)
        self.scenario = Scenario(self.state, self.driver, self.kv)
        self.requests = RequestLog()
        self.nomad_faults = Faults()
        self.consul_faults = Faults()
        self._stopping = threading.Event()
        self._ticker: threading.Thread | None = None
        self.scenario.add_nodes()
        if jobs is None:
            self.scenario.build_story()
            if troubles:  # the demo's placement failure behind a draining node (troubleshoot.py)
                from .scenario import add_troubles

                add_troubles(self.scenario)
        else:
            self.scenario.build_scale(int(jobs))
        self._nomad_api = NomadApi(self, acl_token, self._stopping)
        # Policy-scoped tokens, secret -> "read" | "write" | "management" (sim/acl.py).
        self._nomad_api.acl_tokens.update(acl_tokens or {})
        self._consul_api = ConsulApi(self.kv, consul_token, self._stopping)
        self._nomad = SimServer("nomad", self._nomad_api, self.nomad_faults, self.requests,
                                self._nomad_api.fault_body, seed)
        self._consul = SimServer("consul", self._consul_api, self.consul_faults, self.requests,
                                 self._consul_api.fault_body, seed + 1)
        # Each node's client agent and dtle API on the node's loopback address (sim/dtle_api.py).
        self.dtle_apis = DtleApis(self, self.requests)
        self.dtle_faults = self.dtle_apis.faults
        for server in (self._nomad, self._consul):
            server.peers = {"nomad": self.nomad_faults, "consul": self.consul_faults, "dtle": self.dtle_faults}
            server.restarts = {"nomad": self.restart_nomad, "consul": self.restart_consul}
        # A fault switched on reaches the long-lived event streams too: a proxy or agent that starts
        # failing drops them (and a new stream then meets the fault like any other request).
        self.nomad_faults.on_fault(lambda _knob: self._nomad_api.drop_event_streams())

    # ---- lifecycle ----------------------------------------------------------------------------------
    def start(self, nomad_port: int = 0, consul_port: int = 0) -> SimCluster:
        self.dtle_apis.start()  # first: the nodes' HTTPAddr carries their agents' ports
        self.state.start_streaming()  # from here on changes are kept for the event stream (1.1.2)
        self._nomad.start(nomad_port)
        self._consul.start(consul_port)
        if not self.frozen:
            self._ticker = threading.Thread(target=self._tick_loop, name="sim-clock", daemon=True)
            self._ticker.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        stop_together((self._nomad, self._consul, self.dtle_apis))
        with self.state.changed:
            self.state.changed.notify_all()

    def __enter__(self) -> SimCluster:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _tick_loop(self) -> None:
        while not self._stopping.wait(TICK_SECONDS):
            self.scenario.tick()

    # ---- addresses and request log ------------------------------------------------------------------
    @property
    def nomad_addr(self) -> str:
        return self._nomad.addr

    @property
    def consul_addr(self) -> str:
        return self._consul.addr

    def request_count(self, service: str | None = None, path_prefix: str | None = None) -> int:
        return self.requests.count(service, path_prefix)

    def reset_requests(self) -> None:
        self.requests.reset()

    def dtle_node_at(self, host: str):
        return self.dtle_apis.at(host)

    def dtle_api_addr(self, node_name: str = "dtle-node-1") -> str:
        """The dtle API of a node, e.g. http://127.0.0.3.21:41234 (for `--dtle-api <URL>`)."""
        return self.dtle_apis.of(node_name).dtle.addr

    def drop_event_streams(self) -> None:
        """Cut every open /v1/event/stream (1.1.2): the stream ends as if a proxy or the leader dropped it."""
        self._nomad_api.drop_event_streams()

    def restart_nomad(self) -> None:
        """Nomad comes back as a fresh `-dev` agent: same jobs registered again, new allocation and node
        IDs, indexes starting low (sim/restart.py)."""
        restart.restart_nomad(self)

    def restart_consul(self) -> None:
        """Consul comes back as a fresh `-dev` agent: no keys, a low index; dtle writes its positions again."""
        restart.restart_consul(self)

    # ---- used by the Nomad API ----------------------------------------------------------------------
    def node_for(self, job: dict):
        """Placement: the first ready, eligible node whose dtle driver is healthy."""
        for node in self.state.nodes:
            if node.status == "ready" and node.eligibility == "eligible" and node.dtle and node.dtle[0] and (
                    getattr(node, "datacenter", "dc1") in (job.get("Datacenters") or ["dc1"])):
                return node
        return self.state.nodes[0]

    def agent_self(self) -> dict:
        version = self.dialect
        node = self.state.nodes[0]
        return {
            "config": {"Region": "global", "Datacenter": "dc1", "NodeName": node.name,
                       "Version": {"Revision": "", "Version": version, "VersionMetadata": "",
                                   "VersionPrerelease": ""},
                       "ACL": {"Enabled": self._nomad_api.acl_enabled},
                       "Client": {"Enabled": True}, "Server": {"Enabled": True}},
            "member": {"Name": f"{node.name}.global", "Addr": node.address, "Port": 4648, "Status": "alive",
                       "Tags": {"build": version, "dc": "dc1", "region": "global", "role": "nomad",
                                "port": "4647", "vsn": "1", "bootstrap": "1"}},
            "stats": {"nomad": {"leader": "true", "known_regions": "1", "server": "true"},
                      "raft": {"state": "Leader"}, "client": {"known_servers": "127.0.0.1:4647"}},
        }
