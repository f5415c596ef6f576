"""Each fault knob of the simulator is observable over real HTTP, and the /_sim/faults control endpoint."""

from __future__ import annotations

import socket
import threading
import time

import httpx
import pytest

from dtle_tui.sim import Faults, SimCluster
from tests.helpers import loopback
from tests.helpers.wait import PATIENCE_S


@pytest.fixture
def sim():
    with SimCluster(dialect="1.1", frozen=True) as cluster:
        yield cluster


def test_latency(sim):
    sim.nomad_faults.latency = 0.4
    started = time.monotonic()
    assert loopback.get(sim.nomad_addr + "/v1/jobs").status_code == 200
    assert time.monotonic() - started >= 0.4


def test_error_rate(sim):
    sim.nomad_faults.error_rate = 1.0
    answer = loopback.get(sim.nomad_addr + "/v1/jobs")
    assert answer.status_code == 500 and answer.headers["content-type"] == "text/plain; charset=utf-8"
    sim.nomad_faults.error_rate = 0.5
    codes = [loopback.get(sim.nomad_addr + "/v1/regions").status_code for _ in range(40)]
    assert 0 < codes.count(500) < 40


def test_forced_status(sim):
    sim.nomad_faults.status = 403
    assert (loopback.get(sim.nomad_addr + "/v1/jobs").status_code, loopback.get(sim.nomad_addr + "/v1/jobs").text) \
        == (403, "Permission denied")
    sim.consul_faults.status = 404
    missing = loopback.get(sim.consul_addr + "/v1/kv/dtle/job1/Gtid")
    assert missing.status_code == 404 and "X-Consul-Index" in missing.headers


def test_html_and_garbage(sim):
    sim.nomad_faults.html = True
    page = loopback.get(sim.nomad_addr + "/v1/jobs")
    assert page.status_code == 502 and page.headers["content-type"].startswith("text/html")
    sim.nomad_faults.html = False
    sim.consul_faults.garbage = True
    broken = loopback.get(sim.consul_addr + "/v1/kv/dtle/job1/Gtid")
    assert broken.status_code == 200
    with pytest.raises(ValueError):
        broken.json()


def test_hang_until_cleared(sim):
    sim.nomad_faults.hang = True
    with pytest.raises(httpx.ReadTimeout):
        loopback.get(sim.nomad_addr + "/v1/jobs", timeout=0.5)
    threading.Timer(0.3, lambda: setattr(sim.nomad_faults, "hang", False)).start()
    assert loopback.get(sim.nomad_addr + "/v1/jobs", timeout=60).status_code == 200


def test_down_refuses_then_reopens_on_the_same_port(sim):
    port = int(sim.consul_addr.rsplit(":", 1)[1])
    client = loopback.Client(base_url=sim.consul_addr)
    assert client.get("/v1/kv/dtle/job1/Gtid").status_code == 200  # a kept-alive connection
    sim.consul_faults.down = True
    with pytest.raises(httpx.TransportError):
        client.get("/v1/kv/dtle/job1/Gtid")
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    sim.consul_faults.down = False
    assert sim.consul_addr.endswith(f":{port}")
    assert loopback.get(sim.consul_addr + "/v1/kv/dtle/job1/Gtid").status_code == 200


def test_control_endpoint_and_request_log(sim):
    knobs = loopback.get(sim.nomad_addr + "/_sim/faults").json()
    assert knobs == Faults().to_dict()
    loopback.put(sim.consul_addr + "/_sim/faults", json={"status": 500})
    assert sim.consul_faults.status == 500
    assert loopback.put(sim.consul_addr + "/_sim/faults", json={"bogus": 1}).status_code == 400
    loopback.put(sim.consul_addr + "/_sim/faults", json={"status": None})
    sim.reset_requests()
    loopback.get(sim.nomad_addr + "/v1/jobs")
    loopback.get(sim.nomad_addr + "/v1/job/job1")
    loopback.get(sim.consul_addr + "/v1/kv/dtle/job1/Gtid")
    assert sim.request_count() == 3
    assert sim.request_count("nomad") == 2 and sim.request_count("nomad", "/v1/job/") == 1
    assert sim.request_count("consul", "/v1/kv/") == 1


def test_a_down_service_is_reopened_through_its_peer(sim):
    loopback.put(sim.nomad_addr + "/_sim/faults/consul", json={"down": True})
    with pytest.raises(httpx.ConnectError):
        loopback.get(sim.consul_addr + "/v1/kv/dtle/job1/Gtid")
    loopback.put(sim.nomad_addr + "/_sim/faults/consul", json={"down": False})
    assert loopback.get(sim.consul_addr + "/v1/kv/dtle/job1/Gtid").status_code == 200


def test_cli_serves_until_interrupted():
    import signal
    import subprocess
    import sys

    # -X faulthandler: if it does not end, SIGABRT below makes it print where each thread is.
    process = subprocess.Popen([sys.executable, "-X", "faulthandler", "-m", "dtle_tui.sim", "--nomad-port", "0",
                                "--consul-port", "0", "--dialect", "0.11", "--frozen", "--latency", "0.01"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        nomad = process.stdout.readline().strip().split("=", 1)[1]
        consul = process.stdout.readline().strip().split("=", 1)[1]
        assert loopback.get(nomad + "/v1/agent/self").json()["config"]["Version"]["Version"] == "0.11.1"
        assert loopback.get(nomad + "/v1/namespaces").status_code == 501
        assert loopback.get(consul + "/v1/kv/dtle/job1/Gtid").status_code == 200
        assert loopback.get(nomad + "/_sim/faults").json()["latency"] == 0.01
    finally:
        process.send_signal(signal.SIGINT)
        try:
            code = process.wait(timeout=2 * PATIENCE_S)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGABRT)
            _out, err = process.communicate(timeout=PATIENCE_S)
            raise AssertionError(f"still running {2 * PATIENCE_S:g} s after Ctrl-C; its threads:\n{err}") from None
        process.stdout.close()
        process.stderr.close()
        assert code == 0


def test_peak_counts_what_clients_wait_for_not_what_they_gave_up(sim, monkeypatch):
    """`requests.peak`: the most requests clients waited for at once on one path. A request its client gave
    up on (a timeout) no longer counts, even before its handler has noticed: a client that retries at once
    has one request out, not two. Two clients waiting at once count two. The handlers here never notice a
    hang-up during their latency, as on a machine too busy to run them before the client's retry."""
    monkeypatch.setattr(Faults, "wait_latency", lambda self, stopping, client_gone=None: stopping.wait(self.latency))
    sim.nomad_faults.latency = 30
    for _ in range(3):  # each retry follows its timeout at once: the handler may not have noticed yet
        with pytest.raises(httpx.TimeoutException):
            loopback.get(sim.nomad_addr + "/v1/jobs", timeout=0.3)
    assert sim.requests.peak("nomad", "/v1/jobs") == 1

    sim.requests.reset()
    sim.nomad_faults.latency = 1.5
    answers: list = []
    both = [threading.Thread(target=lambda: answers.append(loopback.get(sim.nomad_addr + "/v1/jobs", timeout=30)))
            for _ in range(2)]
    for thread in both:
        thread.start()
    for thread in both:
        thread.join(PATIENCE_S)
    assert [a.status_code for a in answers] == [200, 200]
    assert sim.requests.peak("nomad", "/v1/jobs") == 2
