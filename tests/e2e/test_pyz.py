"""The one-file install: dist/dtle-tui.pyz runs the demo with every python3 from 3.9 to 3.13 present here.

The .pyz is built once (pip resolves pure-Python wheels from the package index) and run on a
pseudo-terminal, as an operator would run it after copying it to a bastion, until the simulated
cluster's jobs are on screen; then `q` must end it cleanly. Issue 26, item 10: built a second time from
the same commit, it is the same bytes, and the build prints its sha256 (and writes it beside the file
for `sha256sum -c`), so a copy on a bastion can be checked.
"""

from __future__ import annotations

import glob
import hashlib
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Tuple

import pytest

from bench.ptyrun import run_on_pty
from tests.helpers.paths import ROOT

ROOT = ROOT
# One worker runs them all, so the module's .pyz is built once (a build is most of their time).
pytestmark = pytest.mark.xdist_group("pyz")


def interpreters() -> dict:
    """One interpreter per minor version 3.9-3.13 found on PATH or under pyenv."""
    candidates = [shutil.which(f"python3.{minor}") for minor in range(9, 14)]
    pyenv_root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    candidates += sorted(glob.glob(os.path.join(pyenv_root, "versions", "3.*", "bin", "python3")))
    candidates.append(sys.executable)
    found: dict = {}
    for exe in filter(None, candidates):
        try:
            out = subprocess.run([exe, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                                 capture_output=True, text=True, timeout=20)
        except (OSError, subprocess.TimeoutExpired):
            continue
        version = out.stdout.strip()
        if out.returncode == 0 and version in {f"3.{m}" for m in range(9, 14)}:
            found.setdefault(version, exe)
    return found


def build(output: Path) -> str:
    """`make pyz`'s build into `output` (the build works on its own copy of the sources: nothing is
    written in the checkout); what it printed."""
    done = subprocess.run([sys.executable, str(ROOT / "tools" / "build_pyz.py"), "-o", str(output)],
                          capture_output=True, text=True, timeout=600, cwd=str(ROOT))
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Tuple[Path, str]:
    output = tmp_path_factory.mktemp("pyz") / "dtle-tui.pyz"
    return output, build(output)


@pytest.fixture(scope="module")
def pyz(built) -> Path:
    return built[0]


PYTHONS = interpreters()


@pytest.mark.parametrize("version", sorted(PYTHONS))
def test_pyz_shows_the_demo_cluster(version, pyz, tmp_path):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "TERM": "xterm-256color", "LANG": "C.UTF-8",
           "XDG_STATE_HOME": str(tmp_path / "state"), "XDG_CONFIG_HOME": str(tmp_path / "config")}
    seen, rc, output = run_on_pty([PYTHONS[version], str(pyz), "--demo"], env, until=b"payments-sync")
    assert seen, f"python {version}: the demo's jobs never appeared:\n{output[-2000:]!r}"
    assert rc == 0
    assert b"Traceback" not in output


def test_pyz_version_without_anything_installed(pyz):
    out = subprocess.run([sys.executable, "-I", str(pyz), "--version"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0
    assert out.stdout.startswith("dtle-tui ")


def test_every_supported_python_present_is_tried():
    # The machine this runs on has at least the interpreter running the tests.
    assert f"{sys.version_info[0]}.{sys.version_info[1]}" in PYTHONS


def pins() -> dict:
    """tools/pyz-constraints.txt as {normalised name: version}."""
    out = {}
    for line in (ROOT / "tools" / "pyz-constraints.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, version = line.split("==")
            out[name.lower().replace("_", "-")] = version
    return out


def test_pyz_holds_exactly_the_pinned_versions(pyz):
    """Every dependency in the archive is the version the constraints file pins (valid for 3.9-3.13)."""
    with zipfile.ZipFile(pyz) as archive:
        found = {}
        for name in archive.namelist():
            top = name.split("/")[0]
            if top.endswith(".dist-info") and name.endswith("/METADATA"):
                dist, version = top[: -len(".dist-info")].rsplit("-", 1)
                found[dist.lower().replace("_", "-")] = version
    found.pop("dtle-tui", None)
    assert found == pins()


def test_two_builds_are_the_same_bytes_and_say_their_sha256(built, tmp_path):
    (first, out_first), second = built, tmp_path / "dtle-tui.pyz"
    out_second = build(second)
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
