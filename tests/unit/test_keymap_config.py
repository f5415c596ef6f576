"""The config file's [keys] table: key remaps by binding ID, their form checked with the file."""

from __future__ import annotations

import pytest

from dtle_tui.config.file import ConfigError, read_config_file
from dtle_tui.config.keymap import key_problem, parse_keys_table
from dtle_tui.config.settings import describe_settings, load_settings


@pytest.mark.parametrize("key", ["D", "d", "?", "ctrl+d", "ctrl+shift+f5", "f12", "escape", "question_mark",
                                 "slash", "space", "alt+x", "comma", "plus", "left_square_bracket"])
def test_keys_textual_can_bind(key):
    assert key_problem(key) == ""


@pytest.mark.parametrize("key,why", [
    ("", "empty"),
    ("ctl+d", "modifiers"),
    ("ctrl+", "modifiers"),
    ("shift d", "spaces"),
    ("bogus_key_name", "not a key name"),
    ("\x07", "printable"),
])
def test_malformed_keys_are_named(key, why):
    assert why in key_problem(key)


def test_table_flattens_unquoted_dotted_ids_and_keeps_several_keys():
    table = {"dtle.jobs.open": "o,enter", "dtle": {"job": {"delete": "D"}}}
    assert parse_keys_table(table) == {"dtle.jobs.open": "o,enter", "dtle.job.delete": "D"}


@pytest.mark.parametrize("table,why", [
    ({"dtle.job.delete": 4}, "must be a string"),
    ({"delete": "D"}, "not a binding ID"),
    ({"dtle.job.delete": "D,,x"}, "empty key"),
    ({"dtle.job.delete": "hyperspace+d"}, "modifiers"),
])
def test_bad_entries_raise_one_reason(table, why):
    with pytest.raises(ValueError, match=why):
        parse_keys_table(table)


def write(tmp_path, text: str):
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_file_with_keys_loads_them_and_show_config_lists_them(tmp_path):
    path = write(tmp_path, 'refresh = 3.0\n\n[keys]\n"dtle.job.delete" = "D"\n"dtle.app.quit" = "q, ctrl+x"\n')
    cfg = read_config_file(path)
    assert cfg is not None and cfg.keys == {"dtle.job.delete": "D", "dtle.app.quit": "q,ctrl+x"}
    settings = load_settings(["--config", str(path)], {"HOME": str(tmp_path)})
    assert dict(settings.keys) == {"dtle.job.delete": "D", "dtle.app.quit": "q,ctrl+x"}
    rows = {name: (value, source) for name, value, source in describe_settings(settings)}
    assert rows["keys.dtle.job.delete"] == ("D", f"config file {path} [keys]")
    assert rows["keys.dtle.app.quit"][0] == "q,ctrl+x"


def test_without_keys_nothing_is_remapped(tmp_path):
    settings = load_settings(["--config", str(write(tmp_path, "refresh = 3.0\n"))], {"HOME": str(tmp_path)})
    assert settings.keys == ()
    assert not [row for row in describe_settings(settings) if row[0].startswith("keys.")]


def test_a_malformed_key_is_one_line_with_the_table_line(tmp_path):
    path = write(tmp_path, 'refresh = 3.0\n\n[keys]\n"dtle.job.delete" = "ctl+d"\n')
    with pytest.raises(ConfigError) as err:
        read_config_file(path)
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(f"{path} line 3: [keys] dtle.job.delete: 'ctl+d'")


def test_keys_must_be_a_table(tmp_path):
    with pytest.raises(ConfigError, match="keys: must be a table"):
        read_config_file(write(tmp_path, 'keys = "D"\n'))
