"""Issue 26, item 7: a context decides the cluster. Its addresses win over NOMAD_* / CONSUL_*, and no token
or TLS setting of the environment reaches its cluster unless the context names it; a flag address that
disagrees with it is refused naming both; the file's default_context gives way to an address named for
this run (and then no context is in force: the banner names none)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dtle_tui.config.settings import ConfigError, Settings, cluster_rule, load_settings, settings_for_context

STALE = {  # what a bastion's shell may still export from another cluster
    "NOMAD_ADDR": "http://127.0.7.7:4646",
    "NOMAD_TOKEN": "stale-nomad-token",
    "NOMAD_REGION": "stale-region",
    "NOMAD_NAMESPACE": "stale-ns",
    "NOMAD_SKIP_VERIFY": "true",
    "NOMAD_TLS_SERVER_NAME": "stale.example",
    "NOMAD_HTTP_AUTH": "ops:stale-pw",
    "CONSUL_HTTP_ADDR": "127.0.7.7:8500",
    "CONSUL_HTTP_TOKEN": "stale-consul-token",
    "CONSUL_HTTP_SSL": "true",
    "CONSUL_HTTP_AUTH": "ops:stale-pw",
}
PROD = '[contexts.prod]\nnomad_addr = "http://127.0.8.8:4646"\nconsul_addr = "127.0.8.8:8500"\n'


@pytest.fixture
def home(tmp_path: Path) -> Path:
    (tmp_path / ".config" / "dtle-tui").mkdir(parents=True)
    return tmp_path


def write_config(home: Path, text: str) -> None:
    (home / ".config" / "dtle-tui" / "config.toml").write_text(text)


def load(home: Path, argv=(), **env) -> Settings:
    return load_settings(list(argv), {"HOME": str(home), **env})


def assert_nothing_stale(s: Settings) -> None:
    """Not one value of the stale environment is in the settings the HTTP clients are built from."""
    assert s.nomad.addr == "http://127.0.8.8:4646" and s.consul.addr == "http://127.0.8.8:8500"
    assert s.nomad.token is None and s.consul.token is None
    assert s.nomad.region is None and s.nomad.namespace is None
    assert s.nomad.http_auth is None and s.consul.http_auth is None
    assert s.nomad.tls.verify is True and s.nomad.tls.server_name is None
    for name, source in s.sources.items():
        if name.startswith(("nomad.", "consul.")):
            assert not source.startswith("env "), (name, source)


@pytest.mark.parametrize("how", ["flag", "env DTLE_TUI_CONTEXT", "default_context"])
def test_a_context_decides_the_cluster_whatever_the_environment_exports(home, how):
    default = 'default_context = "prod"\n' if how == "default_context" else ""
    write_config(home, default + PROD)
    argv = ["--context", "prod"] if how == "flag" else []
    env = dict(STALE)
    if how == "env DTLE_TUI_CONTEXT":
        env["DTLE_TUI_CONTEXT"] = "prod"
    if how == "default_context":  # an exported address sets the file's default aside: tested below
        del env["NOMAD_ADDR"], env["CONSUL_HTTP_ADDR"]
    s = load(home, argv, **env)
    assert s.context == "prod"
    assert_nothing_stale(s)
    ignored = " ".join(s.notes)
    for var in ("NOMAD_TOKEN", "CONSUL_HTTP_TOKEN", "NOMAD_SKIP_VERIFY", "NOMAD_HTTP_AUTH"):
        assert f"env {var}" in ignored  # --show-config says what was set aside …
    assert "stale-" not in ignored  # … never its value


def test_the_context_names_the_variables_it_wants(home):
    write_config(home, PROD + 'nomad_token_env = "NOMAD_TOKEN"\nconsul_token_env = "PROD_CONSUL"\n'
                 "nomad_skip_verify = true\n")
    s = load(home, ["--context", "prod"], PROD_CONSUL="prod-consul", **STALE)
    assert s.nomad.token == "stale-nomad-token" and s.sources["nomad.token"] == "config context prod"
    assert s.consul.token == "prod-consul" and s.nomad.tls.verify is False
    assert s.nomad.region is None  # what it does not name stays out


def test_a_flag_address_that_disagrees_with_the_context_is_refused_naming_both(home):
    write_config(home, PROD)
    with pytest.raises(ConfigError) as err:
        load(home, ["--context", "prod", "--nomad-addr", "http://127.0.9.9:4646"])
    message = str(err.value)
    assert "--nomad-addr http://127.0.9.9:4646" in message and "context prod" in message
    assert "http://127.0.8.8:4646" in message
    with pytest.raises(ConfigError, match="--consul-addr"):
        load(home, ["--context", "prod", "--consul-addr", "127.0.9.9:8500"])
    # The same address written another way is the same cluster; flags still give what the context lacks.
    s = load(home, ["--context", "prod", "--nomad-addr", "http://127.0.8.8:4646/", "--namespace", "ops"])
    assert s.nomad.addr == "http://127.0.8.8:4646" and s.nomad.namespace == "ops"


def test_an_address_named_for_this_run_sets_the_default_context_aside(home):
    write_config(home, 'default_context = "prod"\n' + PROD + 'color = "red"\nread_only = true\n')
    for argv, env, named in (([], {"NOMAD_ADDR": "http://127.0.7.7:4646"}, "env NOMAD_ADDR"),
                             (["--consul-addr", "127.0.7.7:8500"], {}, "flag --consul-addr")):
        s = load(home, argv, **env)
        assert s.context is None and s.context_color is None  # the banner names no context
        assert not s.read_only  # nothing of the context applies
        assert any("default_context prod not used" in n and named in n for n in s.notes), s.notes
        assert "no context in force" in cluster_rule(s)[0]


def test_switching_in_the_app_leaves_start_up_flags_and_environment_behind(home):
    token = home / "a.tok"
    token.write_text("flag-token-for-a\n")
    write_config(home, PROD + '[contexts.a]\nnomad_addr = "http://127.0.6.6:4646"\n')
    start = load(home, ["--context", "a", "--nomad-token-file", str(token), "--region", "ra"], **STALE)
    assert start.nomad.token == "flag-token-for-a" and start.nomad.region == "ra"
    switched = settings_for_context(start, "prod")
    assert switched.context == "prod"
    assert_nothing_stale(switched)
    assert any("--nomad-token-file" in n for n in switched.notes)
    # Back to the first context: still the context alone (the flags were for the start, once).
    back = settings_for_context(switched, "a")
    assert back.nomad.addr == "http://127.0.6.6:4646" and back.nomad.token is None


def test_without_a_context_the_environment_works_as_the_nomad_cli(home):
    s = load(home, [], **STALE)
    assert s.context is None and s.nomad.addr == "http://127.0.7.7:4646" and s.nomad.token == "stale-nomad-token"
    assert s.sources["nomad.addr"] == "env NOMAD_ADDR"
    assert "no context in force" in cluster_rule(s)[0]


def test_a_switch_finds_the_variable_a_context_names_whatever_its_name(home):
    write_config(home, PROD + 'nomad_token_env = "PROD_NOMAD_TOKEN"\n')
    start = load(home, [], PROD_NOMAD_TOKEN="prod-token", **STALE)
    assert start.context is None and start.nomad.token == "stale-nomad-token"
    switched = settings_for_context(start, "prod")
    assert switched.nomad.token == "prod-token" and switched.nomad.addr == "http://127.0.8.8:4646"
