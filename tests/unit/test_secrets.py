"""Secret masking (reference dtle.md §7: every Password, any case, any depth, never displayed)."""

from __future__ import annotations

import copy
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dtle_tui.text.secrets import SECRET_MASK, collect_secrets, is_secret_key, mask_secrets, redact_text
from tests.helpers.paths import FIXTURES

REF = FIXTURES / "reference"


@pytest.mark.parametrize("name", ["dtle_job_example.json", "dtle4_job_example.json"])
def test_dtle_job_files_lose_every_password(name):
    spec = json.loads((REF / name).read_text())
    before = copy.deepcopy(spec)
    masked = mask_secrets(spec)
    dumped = json.dumps(masked)
    assert '"password"' not in dumped
    assert dumped.count(SECRET_MASK) == 2  # 3.x: src + dest ConnectionConfig; 4.x: Src + Dest in src
    assert spec == before  # input untouched
    config = masked["Job"]["TaskGroups"][0]["Tasks"][0]["Config"]
    conn = config.get("ConnectionConfig") or config["SrcConnectionConfig"]
    assert conn == {"Host": "127.0.0.1", "Port": 3307, "User": "root", "Password": SECRET_MASK}
    assert config["Gtid"] == "" and config["ReplicateDoDb"][0]["TableSchema"] == "db1"


def test_any_depth_lists_and_key_spellings():
    obj = {"a": [{"b": ({"MySQLPasswd": "x1"},)}], "ConsulToken": "t", "VaultToken": "", "SecretID": None,
           "client_secret": {"nested": "y"}, "tokens": [1, 2], "PASSWORD": 12345, "passport": "keep"}
    masked = mask_secrets(obj)
    assert masked["a"][0]["b"][0]["MySQLPasswd"] == SECRET_MASK
    assert masked["ConsulToken"] == SECRET_MASK and masked["client_secret"] == SECRET_MASK
    assert masked["tokens"] == SECRET_MASK and masked["PASSWORD"] == SECRET_MASK
    # Empty stays visibly empty; null stays null.
    assert masked["VaultToken"] == "" and masked["SecretID"] is None
    assert masked["passport"] == "keep"


def test_scalars_and_non_str_keys_pass_through():
    assert mask_secrets("password") == "password"
    assert mask_secrets([1, None]) == [1, None]
    assert mask_secrets({1: "a"}) == {1: "a"}
    assert not is_secret_key(None) and is_secret_key("dbPassWord")
    assert is_secret_key("MYSQL_PWD") and is_secret_key("Credentials") and not is_secret_key("User")


def test_real_job_answers_carry_no_secret_keys_except_tokens():
    for dialect in ("0.11.1", "1.1.2"):
        path = FIXTURES / "real-nomad" / dialect / "job" / "real-ok.json"
        job = json.loads(path.read_text())
        masked = mask_secrets(job)
        assert masked["ID"] == "real-ok"
        assert masked.get("ConsulToken") == ""  # cleared by Nomad, stays visibly empty


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(["Password", "password", "Host", "Token", "x", "DestConnectionConfig"]), inner, max_size=3),
    max_leaves=15,
)


@given(json_values)
def test_no_secret_value_survives(obj):
    masked = mask_secrets(obj)

    def walk(node):
        if isinstance(node, dict):
            for k, v in node.items():
                if is_secret_key(k):
                    assert v in (SECRET_MASK, None, "", [], {})
                else:
                    walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(masked)


def test_collect_and_redact():
    spec = json.loads((REF / "dtle4_job_example.json").read_text())
    spec["Job"]["TaskGroups"][0]["Tasks"][0]["Config"]["DestConnectionConfig"]["Password"] = "s3cr3t!"
    secrets = collect_secrets(spec)
    assert secrets == {"password", "s3cr3t!"}
    msg = "Error 1045: Access denied for user 'root'@'x' (using password: YES) pw=s3cr3t! again s3cr3t!"
    redacted = redact_text(msg, secrets)
    assert "s3cr3t!" not in redacted and redacted.count(SECRET_MASK) == 3


def test_redact_longest_first_and_short_secrets_ignored():
    assert redact_text("abcdef", ["abc", "abcdef"]) == SECRET_MASK
    assert redact_text("a1b1", ["1"]) == "a1b1"
    assert redact_text("", ["abc"]) == "" and redact_text("x.y", ["x.y"]) == SECRET_MASK
    assert redact_text("a.c", ["x.y"]) == "a.c"  # regex characters are literal


def test_configured_tokens_go_through_the_same_redactor():
    """One implementation: a configured token is cut out longest first, regex characters literal, like a
    job's password; only the mask says which kind of secret stood there."""
    from dtle_tui.text.secrets import TOKEN_MASK, add_secret, redact

    add_secret("tok.en-1f2e")
    add_secret("tok.en-1f2e-longer")
    assert redact("a tok.en-1f2e-longer b tok.en-1f2e c tokXen-1f2e") == \
        f"a {TOKEN_MASK} b {TOKEN_MASK} c tokXen-1f2e"
    assert redact("short abc stays", extra=["abc"]) == "short abc stays"  # below MIN_TOKEN_LEN
    assert redact_text("pw s3cret", ["s3cret"], mask=TOKEN_MASK) == f"pw {TOKEN_MASK}"
