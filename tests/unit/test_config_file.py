"""The TOML config file: mistakes name the key and its line; tokens are refused; contexts are listed."""

from __future__ import annotations

from pathlib import Path

import pytest

from dtle_tui.config.file import find_line
from dtle_tui.config.settings import ConfigError, list_contexts, load_settings

CONFIG = """\
# dtle-tui
default_context = "staging"
refresh = 3

[contexts.staging]
nomad_addr = "http://127.0.5.5:4646"
consul_addr = "127.0.5.5:8500"
description = "staging cluster"

[contexts."prod-eu"]
nomad_addr = "https://nomad.prod:4646"
read_only = true
color = "red"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def load(path: Path, *argv: str):
    return load_settings(["--config", str(path), *argv], {"HOME": str(path.parent)})


def test_valid_file_and_contexts(tmp_path):
    path = write(tmp_path, CONFIG)
    s = load(path)
    assert s.context == "staging" and s.nomad.addr == "http://127.0.5.5:4646" and s.refresh == 3.0
    assert s.sources["refresh"] == f"config file {path}"
    prod = load(path, "--context", "prod-eu")
    assert prod.read_only and prod.context_color == "red" and prod.nomad.addr == "https://nomad.prod:4646"
    contexts = list_contexts(path)
    assert [c.name for c in contexts] == ["staging", "prod-eu"]
    staging, eu = contexts
    assert staging.is_default and not eu.is_default
    assert staging.description == "staging cluster" and staging.line == 5
    assert eu.read_only is True and eu.color == "red" and eu.line == 10


def test_list_contexts_without_file(tmp_path):
    assert list_contexts(tmp_path / "absent.toml") == []


@pytest.mark.parametrize(
    "text,line,key",
    [
        ("refresh = 2\nrefesh = 3\n", 2, "refesh"),
        ("[contexts.a]\nnomad_addr = 'http://x:1'\n\n  nomad_adr = 'http://y:1'\n", 4, "contexts.a.nomad_adr"),
        ("[contexts.a]\nregion = 'x'\n[contexts.b]\nregion = 'y'\nbogus = 1\n", 5, "contexts.b.bogus"),
    ],
)
def test_unknown_key_names_key_and_line(tmp_path, text, line, key):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load(path)
    message = str(info.value)
    assert f"line {line}" in message and key in message and "unknown key" in message
    assert "\n" not in message


@pytest.mark.parametrize(
    "text,line,fragment",
    [
        ("timeout = 'ten'\n", 1, "timeout: must be a number, not str"),
        ("\n\nread_only = 'yes'\n", 3, "read_only: must be true or false"),
        ("[contexts.a]\nrefresh = true\n", 2, "contexts.a.refresh: must be a number, not bool"),
        ("[contexts.a]\nregion = 5\n", 2, "contexts.a.region: must be a string"),
        ("log_lines = 1.5\n", 1, "log_lines: must be an integer"),
    ],
)
def test_wrong_type_names_key_and_line(tmp_path, text, line, fragment):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load(path)
    assert f"line {line}" in str(info.value) and fragment in str(info.value)


@pytest.mark.parametrize("key", ["token", "nomad_token", "consul_token", "secret_id_token", "http_auth"])
def test_tokens_in_the_file_are_refused_with_the_reason(tmp_path, key):
    path = write(tmp_path, f'[contexts.a]\nregion = "x"\n{key} = "s3cr3t-value"\n')
    with pytest.raises(ConfigError) as info:
        load(path)
    message = str(info.value)
    assert "line 3" in message and "never stored in the config file" in message and "_token_env" in message
    assert "s3cr3t-value" not in message


def test_token_env_and_file_together_is_an_error(tmp_path):
    path = write(tmp_path, '[contexts.a]\nnomad_token_env = "X"\nnomad_token_file = "/y"\n')
    with pytest.raises(ConfigError, match="line 3.*not both"):
        load(path)


def test_toml_syntax_error_has_the_line(tmp_path):
    path = write(tmp_path, 'refresh = 2\n[contexts.a\nregion = "x"\n')
    with pytest.raises(ConfigError, match=r"line 2"):
        load(path)


def test_default_context_must_exist(tmp_path):
    path = write(tmp_path, 'default_context = "nope"\n[contexts.a]\n')
    with pytest.raises(ConfigError, match="line 1.*no \\[contexts.nope\\]"):
        load(path)


def test_explicit_config_must_exist(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load(tmp_path / "missing.toml")


def test_bad_values_in_the_file(tmp_path):
    with pytest.raises(ConfigError, match="refresh must be a number above 0.*config file"):
        load(write(tmp_path, "refresh = -1\n"))
    with pytest.raises(ConfigError, match="invalid Nomad address.*config context a"):
        load(write(tmp_path, '[contexts.a]\nnomad_addr = "http://[x"\n'), "--context", "a")
    with pytest.raises(ConfigError, match="cannot read token file"):
        load(write(tmp_path, '[contexts.a]\nconsul_token_file = "/nonexistent/tok"\n'), "--context", "a")
    with pytest.raises(ConfigError, match="nomad.tls.ca_cert: file .*missing.pem not found"):
        load(write(tmp_path, f'[contexts.a]\nnomad_cacert = "{tmp_path}/missing.pem"\n'), "--context", "a")


def test_tilde_paths_expand_against_home(tmp_path):
    (tmp_path / "tok").write_text("home-token\n")
    path = write(tmp_path, '[contexts.a]\nnomad_token_file = "~/tok"\n')
    assert load(path, "--context", "a").nomad.token == "home-token"


def test_find_line_handles_dotted_and_quoted_forms():
    text = 'contexts.a.region = "x"\n[contexts."b"]\n  refresh = 1\n'
    assert find_line(text, "refresh", "b") == 3
    assert find_line(text, "region", "a") == 1
    assert find_line(text, "absent", "a") == 0
