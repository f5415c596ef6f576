"""Helpers for the troubleshooting tests (issue 12): what the simulator's troubleshooting story received."""

from __future__ import annotations

import json


def writes(sim) -> list:
    return [(m, p, json.loads(b) if b else None) for m, p, b in sim._nomad_api.troubleshoot.writes]


def running(sim, job: str, group: str):
    return next(a for a in sim.scenario.allocations(job) if a.task_group == group and a.client_status == "running")
