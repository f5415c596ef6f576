"""The look of every confirmation at 80x24 (issue 26, item 1): whole dialogs on the frozen scenario — every
request, the backup line and the buttons — for d, P, G (a stopped job), U, R, a, r, K, e and D.

After an intended change of the look: `.venv/bin/python -m pytest tests/ui/test_snapshots_dialogs.py
--snapshot-update`, then look at the new SVGs before committing them.
"""

from __future__ import annotations

import pytest

from tests import scenes
from tests.helpers import dialog_scenes, frozen

frozen_cluster, pinned_clock = frozen.frozen_cluster, frozen.pinned_clock  # the fixtures (tests/helpers/frozen.py)

# Snapshot names say the key's action: `G` and `g` would be one file on a case-insensitive disk.
NAMES = {"d": "delete", "P": "purge", "G": "gtid_reset_stopped", "U": "restore_gtid", "R": "readd", "a": "add",
         "r": "restart_task", "K": "stop_alloc", "e": "eligibility", "D": "drain"}


@pytest.mark.parametrize("name", sorted(NAMES.values()))
def test_dialog_at_80x24(name, frozen_cluster, snap_compare):
    key = next(k for k, v in NAMES.items() if v == name)
    app = scenes.make_app(frozen_cluster)
    assert snap_compare(app, terminal_size=(80, 24), run_before=dialog_scenes.DIALOGS[key])
