"""tools/pyz-constraints.txt: exact pins, inside pyproject's own ranges (the .pyz is built from them)."""

from __future__ import annotations

import re

from tests.helpers.paths import ROOT


def test_constraints_pin_exactly_and_textual_stays_in_the_project_pin():
    lines = [line.split("#")[0].strip() for line in
             (ROOT / "tools" / "pyz-constraints.txt").read_text(encoding="utf-8").splitlines()]
    pins = dict(line.split("==") for line in lines if line)
    assert all(re.fullmatch(r"[0-9][0-9A-Za-z.]*", v) for v in pins.values()), pins
    assert {"textual", "httpx", "python-consul2", "anyio", "tomli"} <= set(pins)
    major, minor = (int(x) for x in pins["textual"].split(".")[:2])
    assert (major, minor) >= (8, 2) and major < 9  # pyproject: textual>=8.2,<9
    assert tuple(int(x) for x in pins["anyio"].split(".")[:2]) < (4, 13)  # 4.13+ dropped Python 3.9
