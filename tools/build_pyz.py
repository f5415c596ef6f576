"""Build dist/dtle-tui.pyz: one file holding dtle-tui and every dependency as pure Python.

Copy it to a bastion with scp and run it with any python3 from 3.9 to 3.13, nothing installed. The
dependencies are resolved for the oldest supported Python (3.9) and for no particular platform, so pip
only accepts pure-Python wheels (`--platform any --abi none`): a compiled wheel would tie the file to
one interpreter. Markers for newer Pythons (tomli, exceptiongroup) are then harmless extras. Every
version is pinned by tools/pyz-constraints.txt: an index without Requires-Python data would otherwise
pick the newest release, which may need a newer Python than 3.9 (anyio 4.15 did, and the .pyz hung).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import zipapp
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# pip evaluates environment markers against the interpreter running it, not --python-version, so the
# backports that only Pythons older than 3.11 need are named here (harmless on newer ones).
OLD_PYTHON_ONLY = ["tomli>=1.1", "exceptiongroup>=1.0.2"]
CONSTRAINTS = ROOT / "tools" / "pyz-constraints.txt"
MAIN = """\
import sys
if sys.version_info < (3, 9):
    sys.exit("dtle-tui needs Python 3.9 or newer")
from dtle_tui.cli import main
sys.exit(main())
"""


def build(output: Path, python_version: str = "3.9") -> Path:
    with tempfile.TemporaryDirectory(prefix="dtle-tui-pyz-") as tmp:
        stage = Path(tmp) / "app"
        # The project's own wheel first, so its package data (the .tcss) comes along.
        wheel_dir = Path(tmp) / "wheel"
        subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(wheel_dir), str(ROOT)],
            check=True,
        )
        wheel = next(wheel_dir.glob("dtle_tui-*.whl"))
        subprocess.run(
            [
                sys.executable, "-m", "pip", "install", "--quiet", "--no-compile", "--target", str(stage),
                "--python-version", python_version, "--implementation", "py", "--abi", "none",
                "--platform", "any", "--only-binary=:all:", "--constraint", str(CONSTRAINTS),
                str(wheel), *OLD_PYTHON_ONLY,
            ],
            check=True,
        )
        # *.dist-info stays: packages read their own version from it at run time. Scripts are not needed.
        shutil.rmtree(stage / "bin", ignore_errors=True)
        for cache in stage.rglob("__pycache__"):
            shutil.rmtree(cache, ignore_errors=True)
        (stage / "__main__.py").write_text(MAIN)
        output.parent.mkdir(parents=True, exist_ok=True)
        zipapp.create_archive(stage, target=output, interpreter="/usr/bin/env python3", compressed=True)
    return output


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", type=Path, default=ROOT / "dist" / "dtle-tui.pyz")
    args = parser.parse_args()
    path = build(args.output)
    print(f"built {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
