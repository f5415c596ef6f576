"""The look of every screen, at 80x24 and 160x48, on the frozen scenario (pytest-textual-snapshot).

After an intended change of the look: `.venv/bin/python -m pytest tests/test_snapshots.py --snapshot-update`,
then look at the new SVGs before committing them.
"""

from __future__ import annotations

import pytest

from tests import scenes
from tests.helpers import frozen

frozen_cluster, pinned_clock = frozen.frozen_cluster, frozen.pinned_clock  # the fixtures (tests/helpers/frozen.py)


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
@pytest.mark.parametrize("scene", sorted(scenes.SCENES))
def test_screen_looks(scene, size, frozen_cluster, snap_compare):
    app = scenes.make_app(frozen_cluster)
    assert snap_compare(app, terminal_size=size, run_before=scenes.SCENES[scene])


@pytest.mark.parametrize("size", [(80, 24), (200, 50)], ids=["80x24", "200x50"])
def test_jobs_in_attention_order(size, frozen_cluster, snap_compare):
    """Issue 23: the jobs that need the operator on top, with their verdict, stage reached and reason."""
    app = scenes.make_app(frozen_cluster)
    assert snap_compare(app, terminal_size=size, run_before=scenes.steady(scenes.jobs))


def test_jobs_attention_only(frozen_cluster, snap_compare):
    app = scenes.make_app(frozen_cluster)
    assert snap_compare(app, terminal_size=(80, 24), run_before=scenes.steady(scenes.jobs_attention_only))


def test_read_only_hides_the_destructive_keys(frozen_cluster, snap_compare):
    app = scenes.make_app(frozen_cluster, "--read-only")
    assert snap_compare(app, terminal_size=(80, 24), run_before=scenes.steady(scenes.jobs))


def test_dtle_progress_panel(frozen_cluster, snap_compare):
    app = scenes.make_app(frozen_cluster, "--dtle-api", "nodes")
    assert snap_compare(app, terminal_size=(80, 24), run_before=scenes.steady(scenes.dtle_progress))


def test_nodes_refused_to_a_namespace_token(frozen_cluster, snap_compare):
    """Issue 18: a token with `namespace "default" { policy = "read" }` only (no node:read, no agent:read)."""
    token = "5a7e9c10-0000-4d6e-9f0a-6f1c2b3d4e01"
    frozen_cluster._nomad_api.acl_tokens[token] = "read"
    try:
        app = scenes.make_app(frozen_cluster, env={"NOMAD_TOKEN": token})
        assert snap_compare(app, terminal_size=(80, 24), run_before=scenes.steady(scenes.nodes_refused))
    finally:
        frozen_cluster._nomad_api.acl_tokens.clear()


@pytest.mark.parametrize("scene", ["failing_job", "not_placed_raw"])
def test_job_detail_at_80x24(scene, frozen_cluster, snap_compare):
    """Issue 22 item 1, issue 26 item 4: a failing job's verdict first, and the allocations and events in
    view at 80x24 whatever the summary holds."""
    app = scenes.make_app(frozen_cluster)
    assert snap_compare(app, terminal_size=(80, 24), run_before=scenes.steady(getattr(scenes, scene)))
