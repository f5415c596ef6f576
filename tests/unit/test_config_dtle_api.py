"""The setting `dtle_api` (issue 13): flag, environment, config file per context, --show-config, demo."""

from __future__ import annotations

from pathlib import Path

import pytest

from dtle_tui.config.settings import ConfigError, demo_settings, describe_settings, load_settings


@pytest.fixture
def home(tmp_path: Path) -> Path:
    (tmp_path / ".config" / "dtle-tui").mkdir(parents=True)
    return tmp_path


def load(home: Path, argv=(), **env):
    return load_settings(list(argv), {"HOME": str(home), **env})


def shown(settings, name: str) -> tuple:
    return next((value, source) for n, value, source in describe_settings(settings) if n == name)


def test_off_by_default(home):
    s = load(home)
    assert s.dtle_api is None and not s.dtle_api_nomad_token
    assert shown(s, "dtle_api") == ("-", "default")


@pytest.mark.parametrize("value, expected", [("nodes", "nodes"), ("nodes:8290", "nodes:8290"),
                                             ("http://127.0.0.1:8190/", "http://127.0.0.1:8190"),
                                             ("https://dtle.example:8190", "https://dtle.example:8190"),
                                             ("off", None), ("", None)])
def test_values(home, value, expected):
    assert load(home, ["--dtle-api", value]).dtle_api == expected


@pytest.mark.parametrize("value, match", [("nodes:0", "1-65535"), ("nodes:http", "1-65535"),
                                          ("dtle-host:8190", "use a URL"), ("ftp://h:1", "scheme"),
                                          ("http://h:99999", "(?i)port out of range")])
def test_bad_values_name_the_source(home, value, match):
    with pytest.raises(ConfigError, match=match) as info:
        load(home, ["--dtle-api", value])
    assert "flag --dtle-api" in str(info.value)


def test_precedence_flag_env_context_top(home):
    (home / ".config" / "dtle-tui" / "config.toml").write_text(
        'dtle_api = "nodes:9000"\n\n[contexts.prod]\nnomad_addr = "http://127.0.0.1:4646"\ndtle_api = "nodes"\n'
        "send_nomad_token_to_dtle = true\n")
    assert shown(load(home), "dtle_api")[0] == "nodes:9000"
    prod = load(home, ["--context", "prod"])
    assert prod.dtle_api == "nodes" and prod.dtle_api_nomad_token
    assert shown(prod, "dtle_api") == ("nodes", "config context prod")
    env = load(home, ["--context", "prod"], DTLE_API_ADDR="http://127.0.0.2:8190")
    assert shown(env, "dtle_api") == ("http://127.0.0.2:8190", "env DTLE_API_ADDR")
    flag = load(home, ["--context", "prod", "--dtle-api", "nodes:8191"], DTLE_API_ADDR="http://127.0.0.2:8190")
    assert shown(flag, "dtle_api") == ("nodes:8191", "flag --dtle-api")


def test_a_token_is_never_a_config_value(home):
    (home / ".config" / "dtle-tui" / "config.toml").write_text('dtle_api_token = "abc"\n')
    with pytest.raises(ConfigError, match="secrets are never stored"):
        load(home)


def test_demo_asks_the_simulated_nodes_unless_told_otherwise(home):
    demo = demo_settings(load(home), "http://127.0.0.1:1", "http://127.0.0.1:2")
    assert demo.dtle_api == "nodes" and shown(demo, "dtle_api") == ("nodes", "demo simulator")
    mine = demo_settings(load(home, ["--dtle-api", "nodes:8190"]), "http://127.0.0.1:1", "http://127.0.0.1:2")
    assert mine.dtle_api == "nodes:8190"
