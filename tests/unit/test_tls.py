"""TLS as the nomad/consul CLIs configure it: custom CA (file and directory), client certificates,
skip-verify, TLS server name, and readable errors. Certificates are made by trustme at test time."""

from __future__ import annotations

import json
import shutil
import ssl
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import trustme

from dtle_tui.api.consul_kv import ConsulKV
from dtle_tui.api.errors import ApiError, ErrorKind
from dtle_tui.api.nomad import NomadClient
from dtle_tui.config.settings import load_settings


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path.startswith("/v1/kv/"):
            body = json.dumps(
                [
                    {
                        "LockIndex": 0,
                        "Key": "dtle/j/Gtid",
                        "Flags": 0,
                        "Value": "YWJj",
                        "CreateIndex": 4,
                        "ModifyIndex": 5,
                    }
                ]
            ).encode()
            index = "5"
        else:
            body, index = b'[{"ID":"job1"}]', "9"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Nomad-Index", index)
        self.send_header("X-Consul-Index", index)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class Server:
    """A tiny HTTP(S) server on 127.0.0.1 answering /v1/jobs and /v1/kv/…"""

    def __init__(self, ctx: ssl.SSLContext | None) -> None:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        if ctx is not None:
            self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        scheme = "https" if ctx else "http"
        self.addr = f"{scheme}://127.0.0.1:{self.httpd.server_port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def pki(ca, tmp_path):
    ca_pem = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_pem))
    client = ca.issue_cert("ops@example.com")
    client_cert, client_key = tmp_path / "client.pem", tmp_path / "client.key"
    for blob in client.cert_chain_pems:
        blob.write_to_path(str(client_cert), append=True)
    client.private_key_pem.write_to_path(str(client_key))
    return {"ca": str(ca_pem), "cert": str(client_cert), "key": str(client_key), "dir": tmp_path}


def server_ctx(ca: trustme.CA, *names: str, require_client: bool = False) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*(names or ("127.0.0.1",))).configure_cert(ctx)
    if require_client:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ca.configure_trust(ctx)
    return ctx


@pytest.fixture
def serve():
    servers = []

    def start(ctx):
        server = Server(ctx)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


def settings(tmp_path: Path, server: Server, **env):
    base = {"HOME": str(tmp_path), "NOMAD_ADDR": server.addr, "CONSUL_HTTP_ADDR": server.addr}
    return load_settings(["--timeout", "5"], {**base, **env})


async def jobs(s) -> list:
    client = NomadClient(s.nomad, timeout=s.timeout)
    try:
        return (await client.jobs()).value
    finally:
        await client.aclose()


async def test_custom_ca_file(ca, pki, serve, tmp_path):
    server = serve(server_ctx(ca))
    s = settings(tmp_path, server, NOMAD_CACERT=pki["ca"], CONSUL_CACERT=pki["ca"])
    assert await jobs(s) == [{"ID": "job1"}]
    kv = ConsulKV(s.consul, timeout=5)
    try:
        entry = await kv.get("dtle/j/Gtid")
    finally:
        await kv.aclose()
    assert entry is not None and entry.value == b"abc"


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl to name the hashed CA file")
async def test_custom_ca_directory(ca, pki, serve, tmp_path):
    server = serve(server_ctx(ca))
    cadir = tmp_path / "cadir"
    cadir.mkdir()
    digest = subprocess.run(
        ["openssl", "x509", "-hash", "-noout", "-in", pki["ca"]], capture_output=True, text=True, check=True
    ).stdout.strip()
    shutil.copy(pki["ca"], cadir / f"{digest}.0")
    s = settings(tmp_path, server, NOMAD_CAPATH=str(cadir))
    assert s.nomad.tls.ca_path == str(cadir)
    assert await jobs(s) == [{"ID": "job1"}]


async def test_unknown_ca_is_a_readable_tls_error(ca, serve, tmp_path):
    server = serve(server_ctx(ca))
    with pytest.raises(ApiError) as info:
        await jobs(settings(tmp_path, server))
    err = info.value
    assert err.kind is ErrorKind.TLS
    line = err.one_line()
    assert line.startswith("Nomad: TLS certificate verify failed:") and server.addr in line
    assert "\n" not in line and "_ssl.c" not in line


async def test_skip_verify(ca, serve, tmp_path):
    server = serve(server_ctx(ca))
    assert await jobs(settings(tmp_path, server, NOMAD_SKIP_VERIFY="1")) == [{"ID": "job1"}]


async def test_client_certificate_required_and_provided(ca, pki, serve, tmp_path):
    server = serve(server_ctx(ca, require_client=True))
    s = settings(tmp_path, server, NOMAD_CACERT=pki["ca"], NOMAD_CLIENT_CERT=pki["cert"], NOMAD_CLIENT_KEY=pki["key"])
    assert await jobs(s) == [{"ID": "job1"}]
    without = settings(tmp_path, server, NOMAD_CACERT=pki["ca"])
    with pytest.raises(ApiError) as info:
        await jobs(without)
    # TLS 1.3 reports a missing client certificate after the handshake: an alert or a dropped connection
    assert info.value.kind in (ErrorKind.TLS, ErrorKind.UNREACHABLE)
    if info.value.kind is ErrorKind.TLS:
        assert "client certificate (NOMAD_CLIENT_CERT)" in info.value.one_line()


async def test_tls_server_name(ca, pki, serve, tmp_path):
    server = serve(server_ctx(ca, "server.global.nomad"))
    wrong = settings(tmp_path, server, NOMAD_CACERT=pki["ca"])
    with pytest.raises(ApiError) as info:
        await jobs(wrong)
    assert info.value.kind is ErrorKind.TLS and "127.0.0.1" in info.value.one_line()
    named = settings(tmp_path, server, NOMAD_CACERT=pki["ca"], NOMAD_TLS_SERVER_NAME="server.global.nomad")
    assert await jobs(named) == [{"ID": "job1"}]


async def test_https_to_a_plain_http_server(serve, tmp_path):
    server = serve(None)
    s = load_settings([], {"HOME": str(tmp_path), "NOMAD_ADDR": server.addr.replace("http:", "https:")})
    with pytest.raises(ApiError) as info:
        await jobs(s)
    assert info.value.kind is ErrorKind.TLS and "plain HTTP" in info.value.one_line()


def test_bad_pem_is_a_config_error(tmp_path):
    from dtle_tui.api.http import check_tls_files
    from dtle_tui.config.file import ConfigError

    bad = tmp_path / "bad.pem"
    bad.write_text("not a certificate")
    settings = load_settings([], {"HOME": str(tmp_path), "NOMAD_CACERT": str(bad)})
    with pytest.raises(ConfigError, match="nomad TLS files unusable"):
        check_tls_files(settings)


def test_bad_pem_stops_the_cli_with_one_line(tmp_path, capsys, monkeypatch):
    from dtle_tui import cli

    bad = tmp_path / "bad.pem"
    bad.write_text("not a certificate")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("CONSUL_CACERT", str(bad))
    assert cli.main(["--show-config"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "consul TLS files unusable" in err[0]
