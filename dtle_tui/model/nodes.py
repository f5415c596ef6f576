"""Nomad client nodes and their task drivers.

GET /v1/nodes gives stubs, GET /v1/node/:id the full node; both carry `Drivers` (docs/reference/nomad-api.md §4.5).
A node without dtle has no `dtle` driver key or `Detected: false` (docs/reference/dtle.md §8).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Optional

from dtle_tui.model.wire import as_bool, as_dict, as_int, as_str, parse_time, top_list


@dataclass(frozen=True)
class Driver:
    name: str
    detected: bool = False
    healthy: bool = False
    health_description: str = ""
    attributes: dict[str, str] = field(default_factory=dict, hash=False)
    update_time: Optional[datetime] = None


@dataclass(frozen=True)
class Node:
    id: str
    name: str = ""
    address: str = ""
    datacenter: str = ""
    node_class: str = ""
    version: str = ""
    drain: bool = False
    scheduling_eligibility: str = ""
    status: str = ""
    status_description: str = ""
    drivers: dict[str, Driver] = field(default_factory=dict, hash=False)
    create_index: int = 0
    modify_index: int = 0
    # Drain progress: DrainStrategy (full node and 1.1's stream; the list stub has only Drain) and 1.1's
    # LastDrain {Status: draining | complete | canceled, StartedAt, UpdatedAt}.
    drain_deadline: Optional[datetime] = None  # DrainStrategy.ForceDeadline
    drain_started: Optional[datetime] = None
    last_drain_status: str = ""
    last_drain_updated: Optional[datetime] = None

    @property
    def short_id(self) -> str:
        return self.id[:8]

    @property
    def dtle(self) -> Optional[Driver]:
        return self.drivers.get("dtle")

    @property
    def dtle_version(self) -> str:
        # driver.dtle.version e.g. 3.21.08.0; dev builds say 9.9.9.9 (docs/reference/dtle.md §8).
        d = self.drivers.get("dtle")
        return d.attributes.get("driver.dtle.version", "") if d else ""

    @property
    def dtle_full_version(self) -> str:
        d = self.drivers.get("dtle")
        return d.attributes.get("driver.dtle.full_version", "") if d else ""


def _driver(name: str, d: Any) -> Driver:
    if not isinstance(d, dict):
        return Driver(name)
    attrs = {str(k): as_str(v) for k, v in as_dict(d.get("Attributes")).items()}
    return Driver(name, as_bool(d.get("Detected")), as_bool(d.get("Healthy")),
                  as_str(d.get("HealthDescription")), attrs, parse_time(d.get("UpdateTime")))


def _node(d: dict) -> Node:
    g = d.get
    drivers = {str(k): _driver(str(k), v) for k, v in as_dict(g("Drivers")).items()}
    # The full node (/v1/node/:id) has no Address/Version, only HTTPAddr "ip:port" and the
    # nomad.version attribute; the list stub has both (docs/reference/nomad-api.md §4.5).
    address = as_str(g("Address"))
    if not address:
        address = as_str(g("HTTPAddr")).rpartition(":")[0] or as_str(g("HTTPAddr"))
    version = as_str(g("Version")) or as_str(as_dict(g("Attributes")).get("nomad.version"))
    strategy, last = as_dict(g("DrainStrategy")), as_dict(g("LastDrain"))
    started = strategy.get("StartedAt") or (last.get("StartedAt") if last.get("Status") == "draining" else None)
    return Node(
        id=as_str(g("ID")), name=as_str(g("Name")), address=address,
        datacenter=as_str(g("Datacenter")), node_class=as_str(g("NodeClass")), version=version,
        drain=as_bool(g("Drain")), scheduling_eligibility=as_str(g("SchedulingEligibility")),
        status=as_str(g("Status")), status_description=as_str(g("StatusDescription")), drivers=drivers,
        create_index=as_int(g("CreateIndex")), modify_index=as_int(g("ModifyIndex")),
        drain_deadline=parse_time(strategy.get("ForceDeadline")), drain_started=parse_time(started),
        last_drain_status=as_str(last.get("Status")), last_drain_updated=parse_time(last.get("UpdatedAt")),
    )


def parse_nodes(data: Any) -> list[Node]:
    """GET /v1/nodes (list), or GET /v1/node/:id (one object) as a one-element list."""
    if isinstance(data, dict):
        return [_node(data)]
    return [_node(d) for d in top_list(data, "nodes") if isinstance(d, dict)]


@dataclass(frozen=True)
class NodeEvent:
    """One of the node's `Events` (GET /v1/node/:id; Nomad keeps the last 10): registered, drain set,
    heartbeat missed, driver health changes."""

    time: Optional[datetime]
    subsystem: str
    message: str
    details: tuple[tuple[str, str], ...] = ()


def parse_node_events(data: Any) -> list[NodeEvent]:
    """The full node's Events, newest first."""
    events = [NodeEvent(parse_time(e.get("Timestamp")), as_str(e.get("Subsystem")), as_str(e.get("Message")),
                        tuple(sorted((str(k), as_str(v)) for k, v in as_dict(e.get("Details")).items())))
              for e in (as_dict(data).get("Events") or []) if isinstance(e, dict)]
    return sorted(events, key=lambda e: (e.time is not None, e.time or datetime.min), reverse=True)


def runs_dtle(alloc: Any) -> bool:
    """A whole allocation (it carries its Job) whose task group has a task on the dtle driver."""
    if not isinstance(alloc, dict):
        return False
    group = alloc.get("TaskGroup")
    for tg in as_dict(alloc.get("Job")).get("TaskGroups") or []:
        if isinstance(tg, dict) and tg.get("Name") == group:
            return any(isinstance(t, dict) and t.get("Driver") == "dtle" for t in tg.get("Tasks") or [])
    return False
