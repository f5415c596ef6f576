"""Issue 26, item 10: `make pyz` built twice from the same commit gives the same bytes, and the build prints
the file's sha256 (and writes it beside the file for `sha256sum -c`), so a copy on a bastion can be checked."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
import zipfile
from pathlib import Path

from tests.helpers.paths import ROOT


def build(output: Path) -> str:
    done = subprocess.run([sys.executable, str(ROOT / "tools" / "build_pyz.py"), "-o", str(output)],
                          capture_output=True, text=True, timeout=600, cwd=str(ROOT))
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_two_builds_are_the_same_bytes_and_say_their_sha256(tmp_path):
    first, second = tmp_path / "a" / "dtle-tui.pyz", tmp_path / "b" / "dtle-tui.pyz"
    out_first, out_second = build(first), build(second)
    assert first.read_bytes() == second.read_bytes()
    digest = hashlib.sha256(first.read_bytes()).hexdigest()
    for out in (out_first, out_second):
        assert re.search(rf"^sha256 {digest}$", out, re.MULTILINE), out
        assert "from commit " in out
    assert (first.parent / "dtle-tui.pyz.sha256").read_text() == f"{digest}  dtle-tui.pyz\n"
    checked = subprocess.run(["sha256sum", "-c", "dtle-tui.pyz.sha256"], cwd=str(first.parent),
                             capture_output=True, text=True)
    assert checked.returncode == 0 and "OK" in checked.stdout
    with zipfile.ZipFile(first) as archive:
        infos = archive.infolist()
        assert {info.date_time for info in infos} == {(1980, 1, 1, 0, 0, 0)}
        names = [info.filename for info in infos]
        assert names == sorted(names, key=lambda n: n.rstrip("/")) and "__main__.py" in names
        assert not [n for n in names if n.endswith("direct_url.json") or "__pycache__" in n]
        assert any(n.startswith("dtle_tui/") and n.endswith("dtle_tui.tcss") for n in names)
    assert first.read_bytes().startswith(b"#!/usr/bin/env python3\n")
