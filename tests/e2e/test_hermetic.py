"""Issue 24: the suite ignores the environment of whoever runs it. One test looks at the environment a test
sees; the other runs tests in a pytest process started with hostile values of everything tests/conftest.py
resets (a cluster and tokens on a closed port, a home and XDG directories of someone else's, NO_COLOR, a
dumb 20x5 terminal, Textual's own settings) and checks they pass and that nothing landed in that home,
those directories or the working directory."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.conftest import KEEP, RESET_NAMES, RESET_PREFIXES, XDG
from tests.helpers.paths import ROOT
from tests.helpers.wait import PATIENCE_S

HERE = "tests/e2e/test_hermetic.py::test_the_environment_a_test_sees"
# The case: this test failed with CONSUL_HTTP_ADDR=127.0.0.1:9 exported, and passed without it.
CONSUL_CASE = "tests/sim/test_sim_consul.py::test_python_consul2_sync_client"
CLOSED = "http://127.0.0.1:9"


def test_the_environment_a_test_sees(hermetic):
    leaked = sorted(name for name in os.environ
                    if (name.startswith(RESET_PREFIXES) and name not in KEEP and not name.startswith("XDG_"))
                    or (name in RESET_NAMES and name != "HOME"))
    assert leaked == []
    assert os.environ["HOME"] == str(hermetic)
    assert Path(hermetic).resolve().is_relative_to(Path(tempfile.gettempdir()).resolve())
    assert sorted(n for n in os.environ if n.startswith("XDG_")) == sorted(name for name, _ in XDG)
    for name, path in XDG:
        assert os.environ[name] == str(hermetic / path)
    # What Textual read when pytest-textual-snapshot imported it, before conftest.py cleaned up: read again.
    from textual import constants
    from textual import filter as textual_filter

    assert (constants.DEFAULT_THEME, constants.MAX_FPS, constants.COLOR_SYSTEM, textual_filter.DIM_FACTOR) == \
        ("textual-dark", 60, "auto", 0.66)


def hostile_environment(base: Path) -> dict:
    home = base / "someone"
    home.mkdir()
    environ = {name: value for name, value in os.environ.items() if name != "PYTEST_XDIST_WORKER"}
    environ.update({
        "NOMAD_ADDR": CLOSED, "NOMAD_TOKEN": "00000000-hostile-nomad-token", "NOMAD_NAMESPACE": "elsewhere",
        "NOMAD_CACERT": str(base / "missing-ca.pem"), "NOMAD_SKIP_VERIFY": "maybe",
        "CONSUL_HTTP_ADDR": "127.0.0.1:9", "CONSUL_HTTP_TOKEN": "hostile-consul-token",
        "CONSUL_HTTP_TOKEN_FILE": str(base / "missing-token"), "CONSUL_HTTP_SSL": "true",
        "DTLE_API_ADDR": CLOSED, "DTLE_TUI_CONTEXT": "production",
        "HOME": str(home), "NO_COLOR": "1", "TERM": "dumb", "COLUMNS": "20", "LINES": "5",
        "TEXTUAL": "devtools,debug", "TEXTUAL_THEME": "solarized-light", "TEXTUAL_FPS": "1",
        "TEXTUAL_ANIMATIONS": "none", "TEXTUAL_DIM_FACTOR": "0", "TEXTUAL_COLOR_SYSTEM": "standard",
        "FORCE_COLOR": "1",
    })
    for name, path in XDG:
        environ[name] = str(home / path)
    return environ


def test_tests_pass_whatever_the_environment_and_write_nothing_outside_a_temporary_directory(tmp_path):
    environ = hostile_environment(tmp_path)
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "0", "--rootdir", str(ROOT),
         "-c", str(ROOT / "pyproject.toml"), str(ROOT / HERE), str(ROOT / CONSUL_CASE)],
        cwd=workdir, env=environ, capture_output=True, text=True,
        timeout=5 * PATIENCE_S)  # only turns a hang into a failure
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "2 passed" in run.stdout or "1 passed, 1 skipped" in run.stdout, run.stdout[-2000:]
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")) == ["cwd", "someone"]
