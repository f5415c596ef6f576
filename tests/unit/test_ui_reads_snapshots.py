"""The UI reads only immutable snapshots and sends intents (issue 14, item 5).

Job detail used to read GtidProgress's arrays on the UI thread while the poller thread trimmed them; the
rate, the last growth and the sparkline now travel in JobDetail as a frozen ProgressView. Screens used to
build transport themselves (Actions(poller.nomad, ...), LogTail(poller.nomad), getattr(self.app,
"poller")); they now hold only the console's intents.
"""

from __future__ import annotations

import ast
import dataclasses

import pytest

from dtle_tui.live.snapshot import ProgressView, build_detail, progress_view
from dtle_tui.model.gtid import GtidProgress
from tests.helpers.paths import ROOT


def moving(seconds: int, per_s: int) -> GtidProgress:
    progress = GtidProgress()
    for t in range(0, seconds + 1, 5):
        progress.feed(1000.0 + t, 100 + t * per_s)
    return progress


def test_progress_view_is_a_frozen_copy_of_the_live_progress():
    progress = moving(300, 4)
    view = progress_view(progress, now=1310.0)
    assert view is not None
    assert view.rate == pytest.approx(4.0)
    assert view.advanced_at == pytest.approx(1300.0)
    assert view.advanced_s(1310.0) == pytest.approx(10.0)
    assert isinstance(view.buckets, tuple) and len(view.buckets) == 30
    assert all(b == pytest.approx(4.0) for b in view.buckets)
    before = (view.rate, view.advanced_at, view.buckets)
    # The poller keeps feeding (and trimming) the live arrays: the view already handed out does not move.
    for t in range(305, 1200, 5):
        progress.feed(1000.0 + t, 100 + 300 * 4 + (t - 300) * 9)
    assert (view.rate, view.advanced_at, view.buckets) == before
    with pytest.raises(dataclasses.FrozenInstanceError):
        view.rate = 1.0  # type: ignore[misc]


def test_progress_view_without_samples_or_growth():
    assert progress_view(None, 1.0) is None
    still = GtidProgress()
    still.feed(10.0, 5)
    still.feed(20.0, 5)
    view = progress_view(still, now=30.0)
    assert view == ProgressView(rate=0.0, advanced_at=None, buckets=(0.0,))
    assert view.advanced_s(30.0) is None


def test_job_detail_carries_the_progress_view():
    view = progress_view(moving(60, 2), now=1060.0)
    detail = build_detail("job1", None, [], None, view)
    assert detail.progress is view
    assert build_detail("job1", None, [], None).progress is None


UI_FILES = sorted((ROOT / "dtle_tui" / "screens").glob("*.py")) + sorted((ROOT / "dtle_tui" / "widgets").glob("*.py"))


@pytest.mark.parametrize("path", UI_FILES, ids=lambda p: p.name)
def test_screens_hold_no_transport(path):
    """No screen or widget touches the poller, builds Actions or a LogTail, or probes the app with getattr."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in ("poller", "submit", "loop"):
            found.append(f"line {node.lineno}: .{node.attr}")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("Actions", "LogTail"):
            found.append(f"line {node.lineno}: {node.func.id}(...)")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr" \
                and node.args and isinstance(node.args[0], ast.Attribute) and node.args[0].attr == "app":
            found.append(f"line {node.lineno}: getattr(self.app, ...)")
    assert not found, f"{path.name} assembles transport: {found}"


@pytest.mark.parametrize("path", UI_FILES, ids=lambda p: p.name)
def test_styles_live_in_the_tcss(path):
    """No CSS strings in screens or widgets: every style is in dtle_tui/dtle_tui.tcss, with theme variables."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    inline = [f"line {n.lineno}" for c in ast.walk(tree) if isinstance(c, ast.ClassDef) for n in c.body
              if isinstance(n, ast.Assign) and any(isinstance(t, ast.Name) and t.id in ("CSS", "DEFAULT_CSS")
                                                   for t in n.targets)]
    assert not inline, f"{path.name}: CSS in the code at {inline}"
