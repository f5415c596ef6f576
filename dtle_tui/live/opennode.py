"""The node open in Node detail, in one object with its feeds (the pattern of openjob.py's OpenJob).

While a node is open, and only then, two feeds follow it: GET /v1/node/<id> (drivers with their health
description, events, drain strategy) and GET /v1/node/<id>/allocations (every allocation placed on it,
whole). Closed, they stop: an idle console reads nothing per node.
"""

from __future__ import annotations

from typing import Any, Optional

from dtle_tui.api.nomad import NomadClient
from dtle_tui.live.feeds import Feeds
from dtle_tui.live.openjob import missing_is_none
from dtle_tui.live.snapshot import NodeView
from dtle_tui.model.allocations import Allocation, parse_allocation
from dtle_tui.model.nodes import Node, NodeEvent, parse_node_events, parse_nodes, runs_dtle


class OpenNode:
    """The node open in Node detail (`node_id` None: none is)."""

    FEEDS = ("node", "node_allocations")

    def __init__(self, feeds: Feeds, refresh_s: float) -> None:
        self.feeds = feeds
        self.refresh_s = refresh_s  # how soon a node gone from Nomad (404) is asked again
        self.node_id: Optional[str] = None
        self.node: Optional[Node] = None
        self.events: tuple[NodeEvent, ...] = ()
        self.error: Optional[str] = None
        self.allocations: Optional[tuple[Allocation, ...]] = None
        self.dtle: frozenset = frozenset()

    def open(self, node_id: Optional[str], nomad: Optional[NomadClient]) -> bool:
        """Follow `node_id` instead (None: nothing is open); False when it already was the one followed."""
        if node_id == self.node_id:
            return False
        for name in self.FEEDS:
            self.feeds.stop(name)
        self.node_id = node_id
        self.reset()
        if node_id is not None and nomad is not None:
            self.feeds.start("node", "Nomad", missing_is_none(lambda i, w: nomad.node(node_id, index=i, wait=w),
                                                              self.refresh_s), self._on_node)
            self.feeds.start("node_allocations", "Nomad",
                             lambda i, w: nomad.node_allocations(node_id, index=i, wait=w, each=self._allocation_item),
                             self._on_allocations)
        return True

    def reset(self) -> None:
        """Forget what was read (another node, or Nomad's state reset): the feeds read it again."""
        self.node, self.events, self.error = None, (), None
        self.allocations, self.dtle = None, frozenset()

    def view(self) -> Optional[NodeView]:
        if self.node_id is None:
            return None
        return NodeView(self.node_id, self.node, self.events, self.allocations, self.dtle, self.error)

    # ---- data handlers (poller thread) --------------------------------------------------------
    @staticmethod
    def _allocation_item(d: Any) -> Optional[tuple[Allocation, bool]]:
        # Each whole allocation carries its Job: kept only as whether it runs dtle, as it is decoded.
        return (parse_allocation(d), runs_dtle(d)) if isinstance(d, dict) else None

    def _on_node(self, value: object) -> None:
        if value is None:
            self.node, self.events = None, ()
            self.error = f"node {str(self.node_id)[:8]} not found in Nomad (garbage-collected?)"
            return
        nodes = parse_nodes(value)
        self.node, self.events, self.error = (nodes[0] if nodes else None), tuple(parse_node_events(value)), None

    def _on_allocations(self, value: object) -> None:
        items = [x for x in value if x is not None] if isinstance(value, list) else []
        self.allocations = tuple(a for a, _ in items)
        self.dtle = frozenset(a.id for a, dtle in items if dtle)
