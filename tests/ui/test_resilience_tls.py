"""Issue 5, requirement 7, beyond tests/test_tls.py (which covers Nomad): Consul's client certificate,
skip-verify and certificate error, and a certificate error as the console shows it. Certificates are
made by trustme at test time."""

from __future__ import annotations

import pytest
import trustme

from dtle_tui.api.consul_kv import ConsulKV
from dtle_tui.api.errors import ApiError, ErrorKind
from dtle_tui.app import DtleApp
from tests.helpers.screen import STALE, status_line
from tests.helpers.wait import until
from tests.unit.test_tls import Server, server_ctx, settings


@pytest.fixture(scope="module")
def authority() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def files(authority, tmp_path) -> dict:
    ca_pem = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(ca_pem))
    client = authority.issue_cert("ops@example.com")
    cert, key = tmp_path / "client.pem", tmp_path / "client.key"
    for blob in client.cert_chain_pems:
        blob.write_to_path(str(cert), append=True)
    client.private_key_pem.write_to_path(str(key))
    return {"ca": str(ca_pem), "cert": str(cert), "key": str(key)}


@pytest.fixture
def https():
    servers = []

    def start(ctx) -> Server:
        servers.append(Server(ctx))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


async def gtid(s) -> bytes:
    kv = ConsulKV(s.consul, timeout=5)
    try:
        entry = await kv.get("dtle/j/Gtid")
        return entry.value if entry else b""
    finally:
        await kv.aclose()


async def test_consul_client_certificate_required_and_provided(authority, files, https, tmp_path):
    server = https(server_ctx(authority, require_client=True))
    good = settings(tmp_path, server, CONSUL_CACERT=files["ca"], CONSUL_CLIENT_CERT=files["cert"],
                    CONSUL_CLIENT_KEY=files["key"])
    assert await gtid(good) == b"abc"
    with pytest.raises(ApiError) as info:
        await gtid(settings(tmp_path, server, CONSUL_CACERT=files["ca"]))
    assert info.value.service == "Consul" and info.value.kind in (ErrorKind.TLS, ErrorKind.UNREACHABLE)
    if info.value.kind is ErrorKind.TLS:
        assert "CONSUL_CLIENT_CERT" in info.value.one_line()


async def test_consul_unknown_ca_is_readable_and_skip_verify_accepts_it(authority, https, tmp_path):
    server = https(server_ctx(authority))
    with pytest.raises(ApiError) as info:
        await gtid(settings(tmp_path, server))
    line = info.value.one_line()
    assert info.value.kind is ErrorKind.TLS and line.startswith("Consul: TLS certificate verify failed:")
    assert "\n" not in line and "_ssl.c" not in line
    assert await gtid(settings(tmp_path, server, CONSUL_HTTP_SSL_VERIFY="false")) == b"abc"


async def test_the_console_shows_a_certificate_error_and_keeps_running(authority, https, tmp_path):
    server = https(server_ctx(authority))
    app = DtleApp(settings(tmp_path, server))
    async with app.run_test(size=(200, 24)) as pilot:
        await until(pilot, lambda: "Nomad: TLS certificate verify failed" in status_line(app)
                    and "Consul: TLS certificate verify failed" in status_line(app), what="TLS errors shown")
        # No data ever came: the reason alone, never "stale since" (issue 18).
        assert not STALE.search(status_line(app)) and app.is_running
