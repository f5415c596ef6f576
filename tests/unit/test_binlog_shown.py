"""One rendering of BinlogFilePos everywhere (issue 26, item 9): `file:pos`, never dtle's `//dtle//`."""

from __future__ import annotations

import pytest

from dtle_tui.model.gtid import BinlogFilePos, binlog_shown
from tests.unit.test_incident import report, section


@pytest.mark.parametrize(("value", "shown"), [
    ("mysql-bin.000123//dtle//4567", "mysql-bin.000123:4567"),
    (b"mysql-bin.000001//dtle//154\n", "mysql-bin.000001:154"),
    (" bin.7//dtle//0 ", "bin.7:0"),
])
def test_dtle_values_are_written_file_colon_pos(value, shown) -> None:
    assert binlog_shown(value) == shown
    assert str(BinlogFilePos.parse(value)) == shown


@pytest.mark.parametrize("value", ["a//dtle//x", "bin.1:4", "a//dtle//1//dtle//2"])
def test_a_value_dtle_would_not_accept_is_written_as_stored(value) -> None:
    # Not dtle's format: the operator sees what Consul holds, not a made-up position.
    assert binlog_shown(value) == value


def test_empty_and_missing_values_are_empty() -> None:
    assert binlog_shown("") == "" and binlog_shown(None) == ""


def test_the_incident_report_writes_file_colon_pos() -> None:
    position = section(report(), "Position (Consul)")
    assert "| BinlogFilePos | mysql-bin.000123:4567 |" in position
    assert "//dtle//" not in report()
