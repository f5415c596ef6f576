"""The one table `make bench` prints, and bench/RESULTS.md."""

from __future__ import annotations

import datetime
import os
import platform
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple


@dataclass
class Figure:
    name: str  # what is measured
    size: str  # "10 jobs", "5000 jobs", "-"
    value: str  # as measured, with its unit
    target: str = ""  # the target, "" when the figure is context only
    verdict: str = ""  # "ok", "MISS (+x%)", ""
    cmd: str = ""  # reference into Report.commands
    runs: str = ""  # "median of 5", "1 x 30 s"


@dataclass
class Report:
    title: str
    figures: List[Figure] = field(default_factory=list)
    commands: dict = field(default_factory=dict)  # ref -> command line
    notes: List[str] = field(default_factory=list)
    # The last full run's figures (bench/RESULTS.md), shown beside the new ones: (commit, {(name, size): value}).
    previous: Optional[Tuple[str, Dict[Tuple[str, str], str]]] = None

    def command(self, ref: str, argv: Sequence[str]) -> str:
        self.commands[ref] = " ".join(argv)
        return ref

    def add(self, figure: Figure) -> None:
        self.figures.append(figure)

    def render(self) -> str:
        sha, before = self.previous if self.previous is not None else ("", None)
        last = (f"last full run ({sha})",) if before is not None else ()
        head = ("figure", "size", "value", *last, "target", "verdict", "runs", "cmd")
        rows = [head] + [(f.name, f.size, f.value,
                          *((before.get((f.name.strip(), f.size), "—"),) if before is not None else ()),
                          f.target, f.verdict, f.runs, f.cmd) for f in self.figures]
        widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
        line = "+".join("-" * (w + 2) for w in widths)
        out = [self.title, line]
        for i, r in enumerate(rows):
            out.append("|".join(f" {c:<{w}} " for c, w in zip(r, widths)).rstrip())
            if i == 0:
                out.append(line)
        out.append(line)
        for ref, cmd in self.commands.items():
            out.append(f"[{ref}] {cmd}")
        for note in self.notes:
            out.append(f"note: {note}")
        return "\n".join(out)


def previous_run(path: Path) -> Optional[Tuple[str, Dict[Tuple[str, str], str]]]:
    """The figures of the full run written to `path` (RESULTS.md), by (figure, size), and its short commit;
    None when there is none to read."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return None
    sha = next((line.split(":", 1)[1].split()[0][:7] for line in text.splitlines() if line.startswith("- commit:")),
               "?")
    parts = text.split("```")
    if len(parts) < 3:
        return None
    values: Dict[Tuple[str, str], str] = {}
    columns: List[str] = []
    for line in parts[1].splitlines():
        cells = [c.strip() for c in line.split("|")]
        if len(cells) < 7 or set(line) <= {"-", "+"}:
            continue
        if not columns:
            columns = cells  # the header: where value is (a run that had this column too has one more)
            continue
        row = dict(zip(columns, cells))
        if row.get("figure") and row.get("value"):
            values[(row["figure"], row.get("size", ""))] = row["value"]
    return (sha, values) if values else None


def median(values: Sequence[Optional[float]]) -> Optional[float]:
    clean = [v for v in values if v is not None]
    return statistics.median(clean) if clean else None


def verdict_max(value: Optional[float], limit: float) -> str:
    """For "at most" targets: ok, or MISS with how far over."""
    if value is None:
        return "n/a"
    if value <= limit:
        return "ok"
    if limit == 0:
        return f"MISS (+{value:g})"
    return f"MISS (+{(value / limit - 1) * 100:.0f}%)"


def machine() -> str:
    from importlib.metadata import version

    import textual.app  # noqa: F401  (version below)

    return (
        f"{os.cpu_count()} cores (os.cpu_count), Python {platform.python_version()}, "
        f"Textual {version('textual')}, {platform.system()} {platform.release()}"
    )


def commit() -> str:
    """The commit measured (issue 15: RESULTS.md says which), marked when the work tree had changes."""
    import subprocess
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                             timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown (git not available)"
    return (sha or "unknown") + (" with uncommitted changes" if dirty else "")


def results_markdown(report: Report, argv: Sequence[str], elapsed_s: float) -> str:
    now = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    lines = [
        "# Benchmark results (issues 6 and 15)",
        "",
        "Written by the last full run of `make bench` (`python -m bench`); `--quick` runs do not write this",
        "file. Each figure is reported as measured; the targets are issue 6's and issue 15's. See",
        "bench/__main__.py for how each figure is measured.",
        "",
        f"- date: {now}",
        f"- command: `{' '.join(argv)}` (took {elapsed_s / 60:.1f} min)",
        f"- commit: {commit()}",
        f"- machine: {machine()}, load average at the end {os.getloadavg()[0]:.2f}",
        "",
        "```",
        report.render(),
        "```",
        "",
    ]
    return "\n".join(lines)


def spread_ms(values: Sequence[Optional[float]]) -> str:
    """Seconds as `median ms (min / max)`: the median is the figure judged, the spread says how far to
    trust it."""
    clean = sorted(v for v in values if v is not None)
    if not clean:
        return "n/a"
    return f"{median(clean) * 1000:.1f} ms (min {clean[0] * 1000:.1f} / max {clean[-1] * 1000:.1f})"
