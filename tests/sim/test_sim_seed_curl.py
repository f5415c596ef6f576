"""Every curl command of the dtle manual's HTTP API page (/work/shared/seed/http_api.md) against the sim.

Addresses are swapped for the simulator's; `<job_name>` etc. for story IDs. `jq` is replaced by
`python -m json.tool` when jq is not installed (same `"Key": "value",` lines for the stage grep).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from dtle_tui.sim import SimCluster
from tests.helpers.paths import FIXTURES

pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="curl not installed")
JQ = "jq" if shutil.which("jq") else f"{sys.executable} -m json.tool"
EXAMPLE = FIXTURES / "reference" / "dtle_job_example.json"


@pytest.fixture
def shell(tmp_path):
    (tmp_path / "job.json").write_text(EXAMPLE.read_text())
    with SimCluster(dialect="0.11", frozen=True) as sim:
        address = sim.nomad_addr.replace("http://", "")

        def run(command: str) -> str:
            command = command.replace("127.0.0.1:4646", address).replace("| jq", f"| {JQ}")
            done = subprocess.run(command, shell=True, cwd=tmp_path, capture_output=True, text=True, timeout=30)
            return done.stdout

        yield sim, run


def test_list_get_allocations_nodes(shell):
    sim, run = shell
    jobs = json.loads(run("curl -XGET 127.0.0.1:4646/v1/jobs | jq"))
    assert "job1" in {j["ID"] for j in jobs}
    assert json.loads(run("curl -XGET 127.0.0.1:4646/v1/job/job1 | jq"))["ID"] == "job1"
    # the manual's line has an unbalanced quote (`"127.0.0.1:4646/v1/job/<job_name>/allocations | jq`)
    allocs = json.loads(run('curl -XGET "127.0.0.1:4646/v1/job/job1/allocations" | jq'))
    assert {a["TaskGroup"] for a in allocs} == {"src", "dest"}
    alloc = json.loads(run(f'curl -XGET "127.0.0.1:4646/v1/allocation/{allocs[0]["ID"]}" | jq'))
    assert alloc["ID"] == allocs[0]["ID"]
    nodes = json.loads(run('curl -XGET "127.0.0.1:4646/v1/nodes" | jq'))
    assert any("dtle" in n["Drivers"] for n in nodes)


def test_stage_grep(shell):
    sim, run = shell
    out = run("curl -XGET \"127.0.0.1:4646/v1/job/job1/allocations\" | jq '.' | grep job_stage"
              if JQ == "jq" else
              f'curl -XGET "127.0.0.1:4646/v1/job/job1/allocations" | {JQ} | grep job_stage')
    lines = [line.strip() for line in out.splitlines()]
    assert '"DisplayMessage": "job_stage_full",' in lines and '"DriverMessage": "job_stage_incr",' in lines


def test_add_job_literal_and_intended(shell):
    sim, run = shell
    # `-data` is `-d ata`: curl posts the three bytes "ata" (and tries "@job.json" as a URL); Nomad 0.11
    # answers 400 with Go's decode error.
    assert run("curl -s -XPOST -data @job.json 127.0.0.1:4646/v1/jobs") == \
        "invalid character 'a' looking for beginning of value"
    body = json.loads(run("curl -s -XPOST --data @job.json 127.0.0.1:4646/v1/jobs | jq"))
    assert body["EvalID"] and body["JobModifyIndex"] > 0
    assert sim.scenario.job("job1")["Version"] == 1  # job1 existed: the example replaced it


def test_delete_and_purge(shell):
    sim, run = shell
    first = json.loads(run("curl -s -XDELETE 127.0.0.1:4646/v1/job/job10"))
    assert first["EvalID"] and sim.scenario.job("job10")["Stop"] is True
    run("curl -s -XDELETE 127.0.0.1:4646/v1/job/job10?purge=true")
    assert sim.scenario.job("job10") is None
    assert sim.scenario.gtid("job10")  # progress stays in Consul
    assert json.loads(run("curl -s -XDELETE 127.0.0.1:4646/v1/job/my-job"))["EvalID"]  # unknown: still 200
