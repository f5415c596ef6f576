"""Settings precedence and the NOMAD_* / CONSUL_* environment, as the nomad and consul CLIs read it."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from dtle_tui.config.settings import (
    ConfigError,
    Settings,
    demo_settings,
    describe_settings,
    load_settings,
    settings_for_context,
)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    (tmp_path / ".config" / "dtle-tui").mkdir(parents=True)
    return tmp_path


def write_config(home: Path, text: str) -> Path:
    path = home / ".config" / "dtle-tui" / "config.toml"
    path.write_text(text)
    return path


def load(home: Path, argv=(), **env) -> Settings:
    return load_settings(list(argv), {"HOME": str(home), **env})


def token_file(home: Path, name: str, value: str) -> str:
    path = home / name
    path.write_text(value + "\n")
    return str(path)


# (getter, flag argv, env, context line, top-level line, expected value per layer: flag, env, ctx, top, default)
# The context here is the file's default_context: an address in the environment sets it aside (the env
# layer of nomad.addr / consul.addr); otherwise it decides the cluster and NOMAD_* / CONSUL_* are not read
# (the env layer of region, namespace and the tokens gives the context's value).
PRECEDENCE = [
    (
        lambda s: s.nomad.addr,
        ["--nomad-addr", "http://flag:1"],
        {"NOMAD_ADDR": "http://env:2"},
        'nomad_addr = "http://ctx:3"',
        None,
        ["http://flag:1", "http://env:2", "http://ctx:3", None, "http://127.0.0.1:4646"],
    ),
    (
        lambda s: s.nomad.region,
        ["--region", "r-flag"],
        {"NOMAD_REGION": "r-env"},
        'region = "r-ctx"',
        None,
        ["r-flag", "r-ctx", "r-ctx", None, None],
    ),
    (
        lambda s: s.nomad.namespace,
        ["--namespace", "n-flag"],
        {"NOMAD_NAMESPACE": "n-env"},
        'namespace = "n-ctx"',
        None,
        ["n-flag", "n-ctx", "n-ctx", None, None],
    ),
    (
        lambda s: s.consul.addr,
        ["--consul-addr", "flag:1"],
        {"CONSUL_HTTP_ADDR": "env:2"},
        'consul_addr = "ctx:3"',
        None,
        ["http://flag:1", "http://env:2", "http://ctx:3", None, "http://127.0.0.1:8500"],
    ),
    (
        lambda s: s.nomad.token,
        "nomad-token-file",
        {"NOMAD_TOKEN": "t-env"},
        'nomad_token_env = "CTX_TOKEN"',
        None,
        ["t-flag", "t-ctx", "t-ctx", None, None],
    ),
    (
        lambda s: s.consul.token,
        "consul-token-file",
        {"CONSUL_HTTP_TOKEN": "t-env"},
        'consul_token_env = "CTX_TOKEN"',
        None,
        ["t-flag", "t-ctx", "t-ctx", None, None],
    ),
    (
        lambda s: s.read_only,
        ["--read-only"],
        {},
        "read_only = true",
        "read_only = false",
        [True, None, True, False, False],
    ),
    (lambda s: s.refresh, ["--refresh", "0.5"], {}, "refresh = 3", "refresh = 4.5", [0.5, None, 3.0, 4.5, 2.0]),
    (lambda s: s.timeout, ["--timeout", "1.5"], {}, "timeout = 20", "timeout = 30", [1.5, None, 20.0, 30.0, 10.0]),
    (lambda s: s.theme, ["--theme", "f"], {}, 'theme = "c"', 'theme = "t"', ["f", None, "c", "t", None]),
    (
        lambda s: s.stall_threshold_s,
        ["--stall-threshold", "60"],
        {},
        "stall_threshold = 120",
        "stall_threshold = 600",
        [60.0, None, 120.0, 600.0, 300.0],
    ),
]


@pytest.mark.parametrize("getter,flag,env,ctx,top,expected", PRECEDENCE)
def test_precedence_flags_env_context_top_default(home, getter, flag, env, ctx, top, expected):
    if isinstance(flag, str):  # tokens have no flag, only a token-file flag
        flag = [f"--{flag}", token_file(home, "flag.tok", "t-flag")]
    layers = ["flag", "env", "ctx", "top"]
    for drop, want in enumerate(expected):
        if want is None:
            continue  # that layer has no source for this setting
        active = layers[drop:]
        text = (top + "\n" if top and "top" in active else "") + 'default_context = "c"\n[contexts.c]\n'
        text += (ctx + "\n") if "ctx" in active else ""
        write_config(home, text)
        argv = flag if "flag" in active else []
        settings = load(home, argv, CTX_TOKEN="t-ctx", **(env if "env" in active else {}))
        assert getter(settings) == want, f"with layers {active}"


def test_precedence_sources_name_the_layer(home):
    write_config(home, 'default_context = "prod"\n[contexts.prod]\nnomad_addr = "http://ctx:1"\nregion = "eu"\n')
    s = load(home, ["--namespace", "ns1"], NOMAD_ADDR="http://env:4646")
    assert s.nomad.addr == "http://env:4646"
    assert s.sources["nomad.addr"] == "env NOMAD_ADDR"
    # NOMAD_ADDR names the cluster: the file's default context is set aside, none of its values used
    assert s.context is None and s.nomad.region is None and s.sources["nomad.region"] == "default"
    assert s.sources["nomad.namespace"] == "flag --namespace"
    assert s.sources["refresh"] == "default"
    assert any("NOMAD_ADDR" in note and "prod" in note for note in s.notes)


def test_defaults(home):
    s = load(home)
    assert s.nomad.addr == "http://127.0.0.1:4646" and s.nomad.token is None
    assert s.consul.addr == "http://127.0.0.1:8500" and s.consul.token is None
    assert (s.read_only, s.refresh, s.timeout, s.theme, s.demo, s.demo_dialect) == (
        False,
        2.0,
        10.0,
        None,
        False,
        "1.1",
    )
    assert s.stall_threshold_s == 300.0 and s.log_lines == 10000
    assert s.state_dir == home / ".local/state/dtle-tui"
    assert s.log_file == s.state_dir / "dtle-tui.log"
    assert s.config_dir == home / ".config/dtle-tui"
    assert s.nomad.tls.verify and s.consul.tls.verify


def test_xdg_dirs(home, tmp_path):
    s = load(home, XDG_STATE_HOME=str(tmp_path / "st"), XDG_CONFIG_HOME=str(tmp_path / "cf"))
    assert s.state_dir == tmp_path / "st/dtle-tui" and s.config_dir == tmp_path / "cf/dtle-tui"
    assert s.config_file == tmp_path / "cf/dtle-tui/config.toml"
    assert load(home, XDG_STATE_HOME="relative/dir").state_dir == home / ".local/state/dtle-tui"


def test_nomad_env_vars(home):
    ca = token_file(home, "ca.pem", "x")
    capath = home / "cadir"
    capath.mkdir()
    s = load(
        home,
        NOMAD_ADDR="https://nomad.example:4646/",
        NOMAD_TOKEN="tok-nomad",
        NOMAD_REGION="eu",
        NOMAD_NAMESPACE="ns",
        NOMAD_CAPATH=str(capath),
        NOMAD_SKIP_VERIFY="true",
        NOMAD_TLS_SERVER_NAME="server.global.nomad",
        NOMAD_HTTP_AUTH="ops:pa:ss",
    )
    n = s.nomad
    assert n.addr == "https://nomad.example:4646"
    assert (n.token, n.region, n.namespace) == ("tok-nomad", "eu", "ns")
    assert n.http_auth == ("ops", "pa:ss")  # split at the first colon
    assert n.tls.ca_path == str(capath) and n.tls.verify is False and n.tls.server_name == "server.global.nomad"
    assert ca  # NOMAD_CACERT is exercised with real PEM files in test_tls.py


@pytest.mark.parametrize(
    "text,verify",
    [("1", False), ("t", False), ("TRUE", False), ("True", False), ("0", True), ("f", True), ("False", True)],
)
def test_nomad_skip_verify_go_parsebool(home, text, verify):
    assert load(home, NOMAD_SKIP_VERIFY=text).nomad.tls.verify is verify


@pytest.mark.parametrize("text", ["yes", "on", "tRUE", "2"])
def test_bad_boolean_is_config_error(home, text):
    with pytest.raises(ConfigError, match="NOMAD_SKIP_VERIFY"):
        load(home, NOMAD_SKIP_VERIFY=text)


def test_empty_env_var_counts_as_unset(home):
    assert load(home, NOMAD_ADDR="", NOMAD_TOKEN="").nomad.addr == "http://127.0.0.1:4646"


def test_http_auth_without_colon_is_a_user(home):
    assert load(home, NOMAD_HTTP_AUTH="justuser").nomad.http_auth == ("justuser", "")


@pytest.mark.parametrize(
    "value,ssl,expected",
    [
        ("127.0.0.1:8500", None, "http://127.0.0.1:8500"),
        ("consul.local:8500", "true", "https://consul.local:8500"),
        ("http://consul.local:8500", None, "http://consul.local:8500"),
        ("https://consul.local:8501", None, "https://consul.local:8501"),
        ("http://consul.local:8500", "true", "https://consul.local:8500"),  # never back to http once SSL asked
        ("[::1]:8500", None, "http://[::1]:8500"),
        ("consul.local", None, "http://consul.local"),
    ],
)
def test_consul_http_addr_with_and_without_scheme(home, value, ssl, expected):
    env = {"CONSUL_HTTP_ADDR": value}
    if ssl:
        env["CONSUL_HTTP_SSL"] = ssl
    assert load(home, **env).consul.addr == expected


def test_consul_env_vars(home):
    s = load(
        home,
        CONSUL_HTTP_TOKEN="tok-consul",
        CONSUL_HTTP_AUTH="u:p",
        CONSUL_HTTP_SSL_VERIFY="false",
        CONSUL_TLS_SERVER_NAME="consul.dc1",
    )
    c = s.consul
    assert (c.token, c.http_auth, c.tls.verify, c.tls.server_name) == ("tok-consul", ("u", "p"), False, "consul.dc1")


def test_consul_token_file(home):
    path = token_file(home, "ctok", "from-file-token")
    assert load(home, CONSUL_HTTP_TOKEN_FILE=path).consul.token == "from-file-token"
    # CONSUL_HTTP_TOKEN wins, and then the file is not even read
    s = load(home, CONSUL_HTTP_TOKEN="from-env", CONSUL_HTTP_TOKEN_FILE=str(home / "missing"))
    assert s.consul.token == "from-env" and s.sources["consul.token"] == "env CONSUL_HTTP_TOKEN"


def test_unreadable_token_file_is_an_error(home):
    with pytest.raises(ConfigError, match="CONSUL_HTTP_TOKEN_FILE.*cannot read token file"):
        load(home, CONSUL_HTTP_TOKEN_FILE=str(home / "nope"))
    with pytest.raises(ConfigError, match="--nomad-token-file.*cannot read"):
        load(home, ["--nomad-token-file", str(home / "nope")])
    with pytest.raises(ConfigError, match="is empty"):
        load(home, ["--consul-token-file", token_file(home, "empty", "  ")])


def test_token_files_from_flags(home):
    s = load(
        home,
        ["--nomad-token-file", token_file(home, "n", "n-tok"), "--consul-token-file", token_file(home, "c", "c-tok")],
        NOMAD_TOKEN="env",
        CONSUL_HTTP_TOKEN="e",
    )
    assert (s.nomad.token, s.consul.token) == ("n-tok", "c-tok")
    assert s.sources["nomad.token"] == "flag --nomad-token-file"


def test_no_token_flag_exists(home):
    with pytest.raises(ConfigError, match="unrecognized arguments"):
        load(home, ["--nomad-token", "x"])


@pytest.mark.parametrize(
    "argv,match",
    [
        (["--nomad-addr", "http://[bad"], "invalid Nomad address"),
        (["--nomad-addr", "ftp://x:1"], "scheme must be http or https"),
        (["--nomad-addr", "http://host:notaport"], "invalid Nomad address"),
        (["--consul-addr", "unix:///var/run/consul.sock"], "invalid Consul address"),
        (["--refresh", "-1"], "refresh must be a number above 0"),
        (["--refresh", "0"], "refresh must be"),
        (["--timeout", "abc"], "invalid float value"),
        (["--demo-dialect", "2.0"], "invalid choice"),
    ],
)
def test_bad_values(home, argv, match):
    with pytest.raises(ConfigError, match=match):
        load(home, argv)


def test_missing_cert_file_is_an_error(home):
    with pytest.raises(ConfigError, match="nomad.tls.ca_cert: file .* not found"):
        load(home, NOMAD_CACERT=str(home / "nope.pem"))
    with pytest.raises(ConfigError, match="client_key is needed"):
        load(home, CONSUL_CLIENT_CERT=token_file(home, "c.pem", "x"))


def test_context_selection_flag_env_and_default(home):
    write_config(home, 'default_context = "a"\n[contexts.a]\nregion = "ra"\n[contexts.b]\nregion = "rb"\n')
    assert load(home).context == "a" and load(home).nomad.region == "ra"
    assert load(home, DTLE_TUI_CONTEXT="b").nomad.region == "rb"
    assert load(home, ["--context", "b"]).context == "b"
    with pytest.raises(ConfigError, match="unknown context 'zz'.*a, b"):
        load(home, ["--context", "zz"])


def test_context_tokens_from_env_and_file(home):
    path = token_file(home, "prod.tok", "prod-nomad-token")
    write_config(home, f'[contexts.p]\nnomad_token_file = "{path}"\nconsul_token_env = "PROD_CONSUL"\n')
    s = load(home, ["--context", "p"], PROD_CONSUL="prod-consul-token")
    assert (s.nomad.token, s.consul.token) == ("prod-nomad-token", "prod-consul-token")
    with pytest.raises(ConfigError, match="PROD_CONSUL is not set"):
        load(home, ["--context", "p"])
    # env CONSUL_HTTP_TOKEN is never sent to the context's cluster: the context's variable is still needed
    with pytest.raises(ConfigError, match="PROD_CONSUL is not set"):
        load(home, ["--context", "p"], CONSUL_HTTP_TOKEN="x")


def test_context_color_and_tls(home):
    write_config(home, '[contexts.p]\ncolor = "red"\nnomad_skip_verify = true\nconsul_tls_server_name = "c"\n')
    s = load(home, ["--context", "p"])
    assert s.context_color == "red" and s.nomad.tls.verify is False and s.consul.tls.server_name == "c"
    write_config(home, '[contexts.p]\ncolor = "#ff0000"\n')
    assert load(home, ["--context", "p"]).context_color == "#ff0000"
    write_config(home, '[contexts.p]\ncolor = "reddish-ish"\n')
    with pytest.raises(ConfigError, match="color 'reddish-ish'"):
        load(home, ["--context", "p"])


def test_settings_for_context_switches_and_keeps_read_only(home):
    write_config(
        home, '[contexts.a]\nnomad_addr = "http://a:1"\n[contexts.b]\nnomad_addr = "http://b:1"\nread_only = false\n'
    )
    start = load(home, ["--context", "a", "--read-only"], NOMAD_ADDR="http://env:1")
    assert start.nomad.addr == "http://a:1"  # an explicit context decides the cluster, not NOMAD_ADDR
    switched = settings_for_context(start, "b")
    assert switched.context == "b" and switched.nomad.addr == "http://b:1"  # an explicit switch wins
    assert switched.read_only is True
    with pytest.raises(ConfigError):
        settings_for_context(start, "nope")


def test_describe_settings_masks_tokens(home):
    s = load(
        home, NOMAD_TOKEN="1f0e2c8a-nomad-secret", CONSUL_HTTP_TOKEN="consul-secret-xyz", NOMAD_HTTP_AUTH="ops:hunter22"
    )
    rows = describe_settings(s)
    text = repr(rows) + repr(s)
    for secret in ("1f0e2c8a-nomad-secret", "consul-secret-xyz", "hunter22"):
        assert secret not in text
    names = {name: (value, source) for name, value, source in rows}
    assert names["nomad.token"][1] == "env NOMAD_TOKEN" and "hidden" in names["nomad.token"][0]
    assert names["nomad.http_auth"][0].startswith("ops:")
    assert names["consul.token"][1] == "env CONSUL_HTTP_TOKEN"


def test_demo_settings_drop_real_cluster(home):
    s = load(home, NOMAD_TOKEN="real-token-123", CONSUL_HTTP_TOKEN="real-consul-1")
    d = demo_settings(s, "http://127.0.0.1:1", "http://127.0.0.1:2")
    assert d.demo and d.nomad.token is None and d.consul.token is None
    assert d.nomad.addr == "http://127.0.0.1:1" and d.sources["nomad.addr"] == "demo simulator"


def test_settings_frozen(home):
    s = load(home)
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.refresh = 1.0  # type: ignore[misc]
