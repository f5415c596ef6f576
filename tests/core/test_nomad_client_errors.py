"""Every ApiError kind from the Nomad client, produced over real HTTP, and the one-line messages."""

from __future__ import annotations

import asyncio
import pickle
import socket
import threading
import time

import httpx
import pytest

from dtle_tui.api.errors import ApiError, ErrorKind
from dtle_tui.api.nomad import NomadClient
from dtle_tui.config.settings import NomadSettings
from dtle_tui.sim import SimCluster
from dtle_tui.text.secrets import add_secret, redact

TOKEN = "5b7f7c59-3d44-4b43-a1b4-6e2c0f1d9a77"


@pytest.fixture
def cluster():
    with SimCluster(dialect="1.1", seed=1, frozen=True) as sim:
        yield sim


def client_for(addr: str, token: str | None = None, timeout: float = 3.0) -> NomadClient:
    return NomadClient(NomadSettings(addr=addr, token=token), timeout=timeout)


async def failure(client: NomadClient, call=None) -> ApiError:
    try:
        with pytest.raises(ApiError) as info:
            await (call(client) if call else client.jobs())
    finally:
        await client.aclose()
    err = info.value
    line = err.one_line()
    assert "\n" not in line and line == str(err)
    return err


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_unreachable_port_with_nothing_listening():
    port = free_port()
    err = await failure(client_for(f"http://127.0.0.1:{port}"))
    assert err.kind is ErrorKind.UNREACHABLE and err.status is None
    assert err.one_line() == f"Nomad unreachable at http://127.0.0.1:{port}: connection refused"


async def test_sim_down_is_unreachable(cluster):
    cluster.nomad_faults.down = True
    err = await failure(client_for(cluster.nomad_addr))
    assert err.kind is ErrorKind.UNREACHABLE


async def test_timeout_when_latency_exceeds_client_timeout(cluster):
    cluster.nomad_faults.latency = 2.0
    err = await failure(client_for(cluster.nomad_addr, timeout=0.3))
    assert err.kind is ErrorKind.TIMEOUT
    assert err.one_line() == f"Nomad timed out at {cluster.nomad_addr}: no answer within 0.3s"


async def test_timeout_on_a_hung_server(cluster):
    cluster.nomad_faults.hang = True
    try:
        err = await failure(client_for(cluster.nomad_addr, timeout=0.3))
    finally:
        cluster.nomad_faults.hang = False
    assert err.kind is ErrorKind.TIMEOUT


async def test_write_timeout_warns_it_may_have_applied(cluster):
    cluster.nomad_faults.latency = 2.0
    err = await failure(client_for(cluster.nomad_addr, timeout=0.3), lambda c: c.deregister("job1"))
    assert err.kind is ErrorKind.TIMEOUT and "may still have been applied" in err.one_line()


async def test_acl_token_accepted():
    with SimCluster(dialect="1.1", frozen=True, acl_token=TOKEN) as sim:
        client = client_for(sim.nomad_addr, token=TOKEN)
        try:
            assert (await client.jobs()).value
        finally:
            await client.aclose()


@pytest.mark.parametrize(
    "token,status,detail",
    [
        (None, 403, "Permission denied"),
        ("0d2c7c59-0000-4b43-a1b4-6e2c0f1d9a77", 403, "ACL token not found"),
        ("not-a-uuid-secret", 500, "acl token lookup failed: index error: UUID must be 36 characters"),
    ],
)
async def test_forbidden_names_the_token_variable_and_never_the_token(token, status, detail):
    with SimCluster(dialect="0.11", frozen=True, acl_token=TOKEN) as sim:
        err = await failure(client_for(sim.nomad_addr, token=token))
    assert err.kind is ErrorKind.FORBIDDEN and err.status == status and err.detail == detail
    line = err.one_line()
    assert line.startswith(f"Nomad: permission denied ({status}: {detail}) — ")
    assert "NOMAD_TOKEN" in line
    for text in (line, repr(err), str(err), str(err.args)):
        assert TOKEN not in text and (token is None or token not in text)


async def test_404_from_fault(cluster):
    cluster.nomad_faults.status = 404
    err = await failure(client_for(cluster.nomad_addr))
    assert err.kind is ErrorKind.NOT_FOUND and err.status == 404


async def test_500_text_carried_verbatim(cluster):
    cluster.nomad_faults.status = 500
    err = await failure(client_for(cluster.nomad_addr))
    assert err.kind is ErrorKind.SERVER_ERROR and err.detail == "rpc error: No cluster leader"
    assert err.one_line() == "Nomad answered 500: rpc error: No cluster leader"


async def test_501_enterprise_endpoint():
    with SimCluster(dialect="0.11", frozen=True) as sim:
        client = client_for(sim.nomad_addr)
        err = await failure(client, lambda c: c._read("/v1/namespaces", list))
    assert err.kind is ErrorKind.SERVER_ERROR and err.status == 501
    assert err.one_line() == "Nomad answered 501: Nomad Enterprise only endpoint"


async def test_html_from_a_proxy(cluster):
    cluster.nomad_faults.html = True
    err = await failure(client_for(cluster.nomad_addr))
    assert err.kind is ErrorKind.BAD_RESPONSE and err.status == 502
    assert err.one_line() == "Nomad sent HTML, not JSON (a proxy?): 502 Bad Gateway"


async def test_garbage_json(cluster):
    cluster.nomad_faults.garbage = True
    err = await failure(client_for(cluster.nomad_addr))
    assert err.kind is ErrorKind.BAD_RESPONSE and err.one_line().startswith("Nomad sent invalid JSON: ")


def mocked(handler) -> NomadClient:
    client = client_for("http://nomad.test:4646")
    client._http.client = httpx.AsyncClient(base_url="http://nomad.test:4646", transport=httpx.MockTransport(handler))
    return client


async def test_wrong_top_level_shape():
    client = mocked(lambda request: httpx.Response(200, json={"not": "a list"}))
    err = await failure(client)
    assert err.kind is ErrorKind.BAD_RESPONSE
    assert err.one_line() == "Nomad sent an unexpected answer: expected a list, got an object"


async def test_html_200_without_content_type():
    client = mocked(lambda request: httpx.Response(200, content=b"<!doctype html><title>Login</title>"))
    err = await failure(client)
    assert err.kind is ErrorKind.BAD_RESPONSE and err.one_line().endswith("(a proxy?): Login")


async def test_redirect_is_a_bad_response():
    client = mocked(lambda request: httpx.Response(307, headers={"Location": "/ui/"}))
    err = await failure(client)
    assert err.kind is ErrorKind.BAD_RESPONSE and "/ui/" in err.one_line()


async def test_basic_auth_sent_and_missing_index_is_zero():
    seen = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen.update(request.headers)
        return httpx.Response(200, json=[])

    client = NomadClient(NomadSettings(addr="http://nomad.test:4646", http_auth=("ops", "pw-secret-1")))
    client._http.client = httpx.AsyncClient(
        base_url="http://nomad.test:4646",
        auth=httpx.BasicAuth("ops", "pw-secret-1"),
        transport=httpx.MockTransport(handler),
    )
    result = await client.jobs()
    await client.aclose()
    assert result.index == 0 and seen["authorization"].startswith("Basic ")


async def test_connection_lost_mid_body():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)

    def serve() -> None:
        conn, _ = server.accept()
        conn.recv(65536)
        conn.sendall(b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n[{"ID":')
        conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    err = await failure(client_for(f"http://127.0.0.1:{server.getsockname()[1]}"))
    server.close()
    assert err.kind is ErrorKind.UNREACHABLE and "connection lost" in err.one_line()


async def test_concurrent_requests_share_one_client(cluster):
    client = client_for(cluster.nomad_addr)
    try:
        results = await asyncio.gather(client.jobs(), client.nodes(), client.allocations(), client.job("job1"))
    finally:
        await client.aclose()
    assert [type(r.value) for r in results] == [list, list, list, dict]


def test_one_line_formats_and_redaction():
    add_secret("tok-abcdef-123456")
    err = ApiError("Consul", ErrorKind.FORBIDDEN, 403, "Permission denied: token tok-abcdef-123456 lacks key:read")
    assert "tok-abcdef-123456" not in err.one_line() + repr(err) + err.detail
    assert err.one_line().startswith("Consul: permission denied (403: Permission denied: token <redacted>")
    assert err.one_line().endswith("check CONSUL_HTTP_TOKEN")
    multi = ApiError("Nomad", ErrorKind.SERVER_ERROR, 500, "1 error occurred:\n\t* Missing job datacenters\n\n")
    assert multi.detail == "1 error occurred:\n\t* Missing job datacenters"
    assert multi.one_line() == "Nomad answered 500: 1 error occurred: * Missing job datacenters"
    tls = ApiError("Nomad", ErrorKind.TLS, None, "TLS certificate verify failed: self-signed certificate")
    assert tls.one_line() == "Nomad: TLS certificate verify failed: self-signed certificate"
    assert redact("a secret-x1 b", extra=["secret-x1"]) == "a <redacted> b"
    copy = pickle.loads(pickle.dumps(err))
    assert (copy.kind, copy.status, copy.detail) == (err.kind, err.status, err.detail)


async def test_log_stream_connection_lost_keeps_what_was_read():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)

    def serve() -> None:
        conn, _ = server.accept()
        conn.recv(65536)
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nline1\n\r\n"
        )
        time.sleep(0.2)
        conn.close()

    threading.Thread(target=serve, daemon=True).start()
    client = client_for(f"http://127.0.0.1:{server.getsockname()[1]}")
    stream = client.logs("00000000-0000-0000-0000-000000000000", "dest", origin="start", offset=10)
    try:
        assert await stream.__anext__() == b"line1\n"
        with pytest.raises(ApiError) as info:
            await stream.__anext__()
    finally:
        await client.aclose()
        server.close()
    assert info.value.kind is ErrorKind.UNREACHABLE and "connection lost" in info.value.one_line()
    assert stream.offset == 16 and stream.closed
