"""Build dist/dtle-tui.pyz: one file holding dtle-tui and every dependency as pure Python.

Copy it to a bastion with scp and run it with any python3 from 3.9 to 3.13, nothing installed. The
dependencies are resolved for the oldest supported Python (3.9) and for no particular platform, so pip
only accepts pure-Python wheels (`--platform any --abi none`): a compiled wheel would tie the file to
one interpreter. Markers for newer Pythons (tomli, exceptiongroup) are then harmless extras. Every
version is pinned by tools/pyz-constraints.txt: an index without Requires-Python data would otherwise
pick the newest release, which may need a newer Python than 3.9 (anyio 4.15 did, and the .pyz hung).

Reproducible: built twice from the same commit, the file is the same bytes, and the build prints its
sha256 (and writes it beside the file, for `sha256sum -c`), so the copy on a bastion can be checked.
What used to differ between two builds, and what is done about it:
- the zip's entries carried each file's mtime, the time of the build: every entry gets one fixed time
  (SOURCE_DATE_EPOCH when set, else 1980-01-01), fixed permissions, in sorted order;
- pip records where it installed the project's wheel from, a temporary path (dist-info/direct_url.json):
  that file and its RECORD line are left out;
- the project's wheel was built in the checkout, where setuptools' build/ can hold files of other
  commits: it is built from a copy of the files git tracks (the whole tree outside a git checkout).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parent.parent
# pip evaluates environment markers against the interpreter running it, not --python-version, so the
# backports that only Pythons older than 3.11 need are named here (harmless on newer ones).
OLD_PYTHON_ONLY = ["tomli>=1.1", "exceptiongroup>=1.0.2"]
CONSTRAINTS = ROOT / "tools" / "pyz-constraints.txt"
INTERPRETER = "/usr/bin/env python3"
MAIN = """\
import sys
if sys.version_info < (3, 9):
    sys.exit("dtle-tui needs Python 3.9 or newer")
from dtle_tui.cli import main
sys.exit(main())
"""
NOT_SOURCE = {".git", ".venv", "build", "dist", ".pytest_cache", ".hypothesis", "__pycache__"}


def _git(*args: str) -> Optional[str]:
    try:
        done = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return done.stdout


def copy_source(target: Path) -> None:
    """The project's files into `target`: those git tracks (as they are on disk), or the whole tree
    outside a git checkout."""
    tracked = _git("ls-files", "-z")
    if tracked is None:
        shutil.copytree(ROOT, target, dirs_exist_ok=True,
                        ignore=lambda _d, names: [n for n in names if n in NOT_SOURCE or n.endswith(".egg-info")])
        return
    for name in filter(None, tracked.split("\0")):
        source = ROOT / name
        if source.is_file():  # a tracked file deleted on disk is not part of this build
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)


def commit_built() -> Optional[str]:
    """The commit the build comes from, with "(uncommitted changes)" when tracked files differ from it."""
    commit = (_git("rev-parse", "HEAD") or "").strip()
    if not commit:
        return None
    return commit + (" (uncommitted changes)" if _git("status", "--porcelain", "--untracked-files=no") else "")


def drop_install_paths(stage: Path) -> None:
    """Leave out what pip wrote about where it installed from (a temporary path, new on every build)."""
    for direct_url in stage.glob("*.dist-info/direct_url.json"):
        record = direct_url.parent / "RECORD"
        if record.exists():
            name = f"{direct_url.parent.name}/direct_url.json,"
            lines = record.read_text(encoding="utf-8").splitlines(keepends=True)
            record.write_text("".join(line for line in lines if not line.startswith(name)), encoding="utf-8")
        direct_url.unlink()


def zip_time() -> tuple:
    """The one time every entry carries: SOURCE_DATE_EPOCH (the reproducible-builds convention), else
    the earliest a zip can hold."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.isdigit():
        return max((1980, 1, 1, 0, 0, 0), time.gmtime(int(epoch))[:6])
    return (1980, 1, 1, 0, 0, 0)


def write_archive(stage: Path, output: Path) -> None:
    """stage/ as an executable zip (what zipapp writes), the same bytes for the same files."""
    stamp = zip_time()
    output.parent.mkdir(parents=True, exist_ok=True)
    with open(output, "wb") as fh:
        fh.write(f"#!{INTERPRETER}\n".encode())
        with zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(stage.rglob("*"), key=lambda p: p.relative_to(stage).as_posix()):
                name = path.relative_to(stage).as_posix()
                if path.is_dir():
                    info = zipfile.ZipInfo(name + "/", stamp)
                    info.external_attr = (0o40755 << 16) | 0x10  # a directory, for zipimport's namespace lookups
                    archive.writestr(info, b"")
                    continue
                info = zipfile.ZipInfo(name, stamp)
                info.external_attr = 0o100644 << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                info.create_system = 3
                archive.writestr(info, path.read_bytes())
    output.chmod(0o755)


def build(output: Path, python_version: str = "3.9") -> Path:
    with tempfile.TemporaryDirectory(prefix="dtle-tui-pyz-") as tmp:
        source = Path(tmp) / "source"
        source.mkdir()
        copy_source(source)
        stage = Path(tmp) / "app"
        # The project's own wheel first, so its package data (the .tcss) comes along.
        wheel_dir = Path(tmp) / "wheel"
        subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(wheel_dir), str(source)],
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
        drop_install_paths(stage)
        (stage / "__main__.py").write_text(MAIN)
        write_archive(stage, output)
    return output


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", type=Path, default=ROOT / "dist" / "dtle-tui.pyz")
    args = parser.parse_args()
    path = build(args.output)
    digest = sha256_of(path)
    # `sha256sum -c dtle-tui.pyz.sha256` next to the copied file checks it.
    path.with_name(path.name + ".sha256").write_text(f"{digest}  {path.name}\n", encoding="utf-8")
    commit = commit_built()
    print(f"built {path} ({path.stat().st_size / 1e6:.1f} MB)" + (f" from commit {commit}" if commit else ""))
    print(f"sha256 {digest}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
