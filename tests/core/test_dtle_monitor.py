"""dtle's own API over HTTP against the simulator: finding each node's API, the answers, the failures,
and the poller's monitor (what it asks, how often, how many at once; nothing when the setting is off)."""

from __future__ import annotations

import asyncio

import pytest

from dtle_tui.api.dtle import DtleClient, Target
from dtle_tui.api.errors import ApiError, ErrorKind
from dtle_tui.api.nomad import NomadClient
from dtle_tui.live import monitor as monitor_mod
from dtle_tui.live.poller import Poller
from tests.helpers.wait import until_blocking

FULL_JOB = "billing-migrate"


def running(sim, job_id: str, group: str):
    return next(a for a in sim.scenario.allocations(job_id) if a.task_group == group and a.client_status == "running")


def run(coro):
    return asyncio.run(coro)


async def with_client(settings, fn):
    nomad = NomadClient(settings.nomad, timeout=settings.timeout)
    client = DtleClient(settings, nomad)
    try:
        return await fn(client)
    finally:
        await client.aclose()
        await nomad.aclose()


def test_nodes_mode_finds_the_node_api_and_passes_its_nomad_addr(sim, make_settings):
    settings = make_settings(sim, "--dtle-api", "nodes")
    dest = running(sim, FULL_JOB, "dest")

    async def go(client: DtleClient):
        target = await client.target(dest.node.id)
        again = await client.target(dest.node.id)
        return target, again, await client.monitor_task(target, dest.id, "dest")

    target, again, m = run(with_client(settings, go))
    node_api = sim.dtle_node_at(dest.node.address)
    assert target == again and target.base == f"http://{dest.node.address}:{node_api.dtle.port}"
    assert target.nomad_http_address == node_api.nomad_addr  # from the node's agent/self plugin config
    assert m.progress is not None and 0 < m.progress <= 110 and m.read_rows > 0 and m.backlog[1] == 16
    assert sim.request_count("nomad", "/v1/node/") == 1 and sim.request_count("nomad-client", "/v1/agent/self") == 1
    query = [q for s, _m, p, q in sim.requests.entries() if s == "dtle"][0]
    assert "nomad_http_address=" in query


def test_nodes_port_overrides_the_plugin_config(sim, make_settings):
    dest = running(sim, "job1", "dest")
    port = sim.dtle_node_at(dest.node.address).dtle.port
    settings = make_settings(sim, "--dtle-api", f"nodes:{port}")
    target = run(with_client(settings, lambda c: c.target(dest.node.id)))
    assert target.base.endswith(f":{port}")


def test_nodes_mode_never_triggers_dtles_forwarding_loop(sim, make_settings):
    """A node whose dtle `nomad_addr` host is not its advertise host forwards to itself for ever when asked
    without nomad_http_address (dtle-monitor.md §1.3): the URL mode hangs there, the nodes mode does not."""
    dest = running(sim, "job1", "dest")
    api = sim.dtle_node_at(dest.node.address)
    api.nomad_addr = "127.0.0.1:4646"  # dtle's default, as on most multi-host installs
    ok = run(with_client(make_settings(sim, "--dtle-api", "nodes"),
                         lambda c: c.target(dest.node.id)))
    assert ok.nomad_http_address == "127.0.0.1:4646"
    m = run(with_client(make_settings(sim, "--dtle-api", "nodes"),
                        lambda c: c.monitor_task(ok, dest.id, "dest")))
    assert m.delay_s is not None
    url = make_settings(sim, "--dtle-api", api.dtle.addr, "--timeout", "1")
    with pytest.raises(ApiError) as info:
        run(with_client(url, lambda c: c.monitor_task(Target(api.dtle.addr), dest.id, "dest")))
    assert info.value.kind is ErrorKind.TIMEOUT


def test_url_mode_asks_the_one_api_and_dtle_forwards(sim, make_settings):
    dest = running(sim, "job1", "dest")
    other = sim.dtle_api_addr("dtle-node-2")  # the task runs on node 1: dtle forwards (hosts differ)
    settings = make_settings(sim, "--dtle-api", other)
    m = run(with_client(settings, lambda c: c.target(dest.node.id)))
    assert m == Target(other)
    answer = run(with_client(settings, lambda c: c.monitor_task(Target(other), dest.id, "dest")))
    assert answer.file.startswith("mysql-bin.") and answer.backlog[1] == 96
    assert sim.request_count("nomad-client") == 0 and sim.request_count("nomad", "/v1/node/") == 0


@pytest.mark.parametrize("fault, kind, text", [
    ("lost", ErrorKind.SERVER_ERROR, "can not find the task. allocation_id="),
    ("down", ErrorKind.UNREACHABLE, "dtle API unreachable"),
    ("html", ErrorKind.BAD_RESPONSE, "HTML, not JSON"),
    ("hang", ErrorKind.TIMEOUT, "dtle API timed out"),
])
def test_failures_are_one_line_api_errors(sim, make_settings, fault, kind, text):
    dest = running(sim, FULL_JOB, "dest")
    settings = make_settings(sim, "--dtle-api", "nodes", "--timeout", "1")
    target = run(with_client(settings, lambda c: c.target(dest.node.id)))
    if fault == "lost":
        sim.dtle_apis.lost.add((dest.id, "dest"))
    else:
        setattr(sim.dtle_faults, fault, True)
    try:
        with pytest.raises(ApiError) as info:
            run(with_client(settings, lambda c: c.monitor_task(target, dest.id, "dest")))
    finally:
        sim.dtle_faults.clear()
    assert info.value.kind is kind and text in info.value.one_line() and "\n" not in info.value.one_line()


def test_a_task_dtle_does_not_run_and_missing_parameters(sim, make_settings):
    settings = make_settings(sim, "--dtle-api", "nodes")
    src = running(sim, FULL_JOB, "src")
    target = run(with_client(settings, lambda c: c.target(src.node.id)))
    with pytest.raises(ApiError, match="can not find the task. allocation_id=.* task_name=Src"):
        run(with_client(settings, lambda c: c.monitor_task(target, src.id, "Src")))  # case-sensitive (§1.2)
    with pytest.raises(ApiError, match="invalid params: Key: 'GetTaskProgressReqV2.AllocationId'"):
        run(with_client(settings, lambda c: c.monitor_task(target, "", "src")))


# ---- the poller's monitor ------------------------------------------------------------------------------


def poll(sim, settings, condition, detail=None, rows=()):
    """The first snapshot of a started poller (Job detail of `detail`, dtle rows `rows`) meeting `condition`."""
    snaps = []
    poller = Poller(settings, snaps.append)
    poller.start()
    try:
        until_blocking(lambda: snaps and snaps[-1].rows, "the rows")
        if detail:
            poller.watch_job(detail)
        if rows:
            poller.watch_dtle_rows(tuple(rows))
        return until_blocking(lambda: snaps[-1] if condition(snaps[-1]) else None, "the snapshot wanted")
    finally:
        poller.stop()


def test_setting_off_asks_no_dtle_api(sim, make_settings):
    settings = make_settings(sim)
    snap = poll(sim, settings, lambda s: s.detail is not None and s.detail.allocations, detail=FULL_JOB,
                rows=("job1", FULL_JOB))
    assert snap.dtle == {} and not settings.dtle_api
    assert sim.request_count("dtle") == 0 and sim.request_count("nomad-client") == 0
    assert sim.request_count("nomad", "/v1/node/") == 0


def test_open_job_is_asked_every_few_seconds_one_request_per_task(sim, make_settings, monkeypatch):
    monkeypatch.setattr(monitor_mod, "DETAIL_S", 0.3)
    settings = make_settings(sim, "--dtle-api", "nodes")
    seen = []

    def moved(s):
        p = s.dtle.get(FULL_JOB)
        if p is not None and p.percent is not None:
            seen.append(p.rows_done)
        return len(set(seen)) >= 2

    snap = poll(sim, settings, moved, detail=FULL_JOB)
    progress = snap.dtle[FULL_JOB]
    assert progress.phase == "full" and progress.percent_from == "dest" and progress.rows_estimated
    assert progress.eta_text and progress.errors == ()
    assert sim.requests.peak("dtle") <= 2  # src and dest: one each at a time


def test_hung_dtle_holds_one_request_per_task(sim, make_settings, monkeypatch):
    monkeypatch.setattr(monitor_mod, "DETAIL_S", 0.2)
    sim.dtle_faults.hang = True
    settings = make_settings(sim, "--dtle-api", "nodes", "--timeout", "2")
    try:
        snap = poll(sim, settings, lambda s: s.dtle.get("job1") is not None and len(s.dtle["job1"].errors) == 2,
                    detail="job1")
    finally:
        sim.dtle_faults.hang = False
    assert all("timed out" in e for e in snap.dtle["job1"].errors)
    assert snap.nomad.error is None  # the status line's feeds know nothing of it
    assert sim.requests.peak("dtle") <= 2


def test_rows_in_view_are_asked_once_per_interval_and_at_most_four_at_once(sim, make_settings):
    jobs = ["job1", "job10", "mig-[b]ops", "orders-sync", "payments-sync", "reports-incr", "users-stalled",
            FULL_JOB, "inventory-copy", "events-kafka"]
    sim.dtle_faults.latency = 0.3
    settings = make_settings(sim, "--dtle-api", "nodes")
    snap = poll(sim, settings, lambda s: all(j in s.dtle for j in jobs), rows=jobs)
    assert sim.requests.peak("dtle") <= monitor_mod.ROWS_CONCURRENCY
    # Each running task once: ROWS_S (15 s) has not passed for any of them yet.
    asked = [q for s, _m, _p, q in sim.requests.entries() if s == "dtle"]
    assert len(asked) == len(set(asked))
    assert snap.dtle["users-stalled"].delay_s and snap.dtle["events-kafka"].kafka


# ---- tokens and TLS ------------------------------------------------------------------------------------

ACL = "2f1c6a3e-8a41-4f3b-9d55-1c0e4e9b7a10"


def test_the_nomad_token_goes_to_the_agents_never_to_dtle_unless_configured(make_settings, tmp_path):
    from dtle_tui.sim import SimCluster

    with SimCluster(dialect="1.1", seed=1, acl_token=ACL) as sim:
        dest = running(sim, "job1", "dest")
        api = sim.dtle_node_at(dest.node.address)
        settings = make_settings(sim, "--dtle-api", "nodes", env={"NOMAD_TOKEN": ACL})

        async def ask(client: DtleClient):
            return await client.monitor_task(await client.target(dest.node.id), dest.id, "dest")

        assert run(with_client(settings, ask)).delay_s is not None
        assert api.tokens_seen == [None]  # agent/self took the token (ACL on), dtle got none
        cfg = tmp_path / "config" / "dtle-tui"
        cfg.mkdir(parents=True)
        (cfg / "config.toml").write_text("send_nomad_token_to_dtle = true\n")
        run(with_client(make_settings(sim, "--dtle-api", "nodes", env={"NOMAD_TOKEN": ACL}), ask))
        assert api.tokens_seen == [None, ACL]
        api.agent.faults.status = 403  # a token without agent:read: dtle's defaults stand in
        target = run(with_client(settings, lambda c: c.target(dest.node.id)))
        assert target.nomad_http_address == "127.0.0.1:4646" and target.base.endswith(":8190")


def test_https_url_uses_nomads_tls_settings(make_settings, tmp_path, sim):
    import ssl
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    import trustme

    from tests.helpers.paths import FIXTURES

    body = (FIXTURES / "reference" / "dtle_v2_monitor_task_response_docs.json").read_bytes()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    ca = trustme.CA()
    ca_pem = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_pem))
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(ctx)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True).start()
    url = f"https://127.0.0.1:{httpd.server_port}"
    try:
        trusted = make_settings(sim, "--dtle-api", url, env={"NOMAD_CACERT": str(ca_pem)})
        m = run(with_client(trusted, lambda c: c.monitor_task(Target(url), "a" * 36, "src")))
        assert m.backlog == (0, 128)
        untrusted = make_settings(sim, "--dtle-api", url, "--timeout", "2")
        with pytest.raises(ApiError) as info:
            run(with_client(untrusted, lambda c: c.monitor_task(Target(url), "a" * 36, "src")))
        assert info.value.kind is ErrorKind.TLS and "certificate verify failed" in info.value.one_line()
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_a_row_scrolled_out_and_back_is_not_asked_before_its_interval(sim, make_settings, monkeypatch):
    # An interval no run of this test can reach, however slow the machine: job1 is not due again.
    monkeypatch.setattr(monitor_mod, "ROWS_S", 3600.0)
    settings = make_settings(sim, "--dtle-api", "nodes")
    snaps = []
    poller = Poller(settings, snaps.append)
    poller.start()
    try:
        until_blocking(lambda: snaps and snaps[-1].rows, "the rows")
        poller.watch_dtle_rows(("job1",))
        until_blocking(lambda: "job1" in snaps[-1].dtle, "job1's figures")
        asked = sim.request_count("dtle")
        assert asked == 2  # src and dest
        poller.watch_dtle_rows(("job10",))  # scrolled away, then back
        until_blocking(lambda: "job10" in snaps[-1].dtle, "job10's figures")
        poller.watch_dtle_rows(("job1", "mig-[b]ops"))  # back, with a new row: its answer shows a round ran
        until_blocking(lambda: "mig-[b]ops" in snaps[-1].dtle, "mig-[b]ops' figures")
        assert sim.request_count("dtle") == asked + 4  # job10's and mig-[b]ops' tasks; job1 waits for its interval
    finally:
        poller.stop()
