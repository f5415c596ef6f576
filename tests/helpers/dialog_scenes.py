"""Every confirmation dialog opened by its key on the frozen demo scenario (issue 26, item 1), for the Pilot
tests that read each dialog whole at 80x24 and for their snapshots.

A scene is a `run_before` for `snap_compare` (or a plain coroutine for Pilot): it loads the Jobs screen,
prepares what the key needs (a saved backup for `U` and `R`, a job.json for `a`, the row to act on) and
presses the key until the dialog is open, fitted, with the focus where the dialog puts it, and the data all
in. Backups are written with a fixed timestamp, so the dialogs that name them read the same on every run.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List

from textual.widgets import Button, Input

from dtle_tui.ops import backup as bk
from tests import scenes
from tests.helpers.paths import FIXTURES
from tests.helpers.screen import focused_id, visible_lines
from tests.helpers.sim import sim_get
from tests.helpers.wait import until  # noqa: F401 - until: for the tests

STOPPED = "legacy-stopped"  # the frozen scenario's stopped job: G and U do not refuse it
FIXED_STAMP = "20261127T075500.000Z"


def _confirm_open(app: Any) -> bool:
    from dtle_tui.screens.confirm import FittedDialog

    screen = app.screen
    return isinstance(screen, FittedDialog) and bool(screen.query(f"#{screen.FIT}-text"))


async def _press_until_open(pilot, key: str) -> None:
    await pilot.press(key)
    await until(pilot, lambda: _confirm_open(pilot.app), what=f"the dialog of {key}")
    await settled(pilot)


def _focus_of(screen: Any) -> str:
    """Where the dialog puts the focus once mounted: the ID box when an ID is typed, else Cancel; the drain
    dialog the node's name."""
    from dtle_tui.screens.drain import DrainScreen

    if isinstance(screen, DrainScreen):
        return "drain-name"
    return "confirm-input" if screen.mode == "type_id" else "confirm-cancel"


async def settled(pilot) -> None:
    """The dialog has fitted itself to the terminal (its lines' height set after the first layout), its
    focus is where it puts it (set a moment after it mounts), and the data is all in."""
    screen = pilot.app.screen
    await until(pilot, lambda: screen.query_one(f"#{screen.FIT}-lines").styles.max_height is not None,
                what="the dialog's lines fitted")
    await until(pilot, lambda: focused_id(pilot.app) == _focus_of(screen), what=f"the focus on {_focus_of(screen)}")
    await scenes.data_in(pilot)


def save_backup(app: Any, job_id: str) -> Path:
    """A complete backup of `job_id` (spec and Consul keys as the simulator has them) under the app's
    state directory, where U and R look for it."""
    settings = app.settings
    nomad, consul = settings.nomad.addr, settings.consul.addr
    job = sim_get(nomad, f"/v1/job/{job_id}")
    entries = sim_get(consul, f"/v1/kv/dtle/{job_id}/?recurse")
    consul_json = {"job": job_id, "entries": [{k: e[k] for k in ("Key", "Value", "Flags", "CreateIndex",
                                                                  "ModifyIndex")} for e in entries]}
    root = bk.backup_root(settings.state_dir, bk.cluster_name(settings.context, nomad), job_id) / FIXED_STAMP
    bk.ensure_private_dir(root)
    for name, value in (("job.json", job), ("consul.json", consul_json),
                        ("meta.json", {"action": "scene", "job": job_id})):
        bk.write_atomic(root / name, bk.json_bytes(value))
    return root


async def on_job(pilot, job_id: str) -> None:
    await scenes.loaded(pilot)
    await scenes.select(pilot, job_id)


async def delete(pilot) -> None:
    await on_job(pilot, "job1")
    await _press_until_open(pilot, "d")


async def purge(pilot) -> None:
    await on_job(pilot, "job1")
    await _press_until_open(pilot, "P")


async def gtid_reset_stopped(pilot) -> None:
    await on_job(pilot, STOPPED)
    await _press_until_open(pilot, "G")


async def restore_gtid(pilot) -> None:
    save_backup(pilot.app, STOPPED)
    await on_job(pilot, STOPPED)
    await _press_until_open(pilot, "U")


async def readd(pilot) -> None:
    """`R` lists the saved specs (the job under the cursor highlighted); enter picks it, then its confirm."""
    from dtle_tui.screens.pick import PickScreen

    save_backup(pilot.app, STOPPED)
    await on_job(pilot, STOPPED)
    await pilot.press("R")
    await until(pilot, lambda: isinstance(pilot.app.screen, PickScreen), what="the saved specs")
    options = pilot.app.screen.query_one("#pick")
    await until(pilot, lambda: options.highlighted is not None and pilot.app.focused is options,
                what="the job's saved spec highlighted")
    await _press_until_open(pilot, "enter")


async def add(pilot) -> None:
    """`a`, a job.json of the stopped job (it resumes from Consul: the extra choice), Enter, its confirm."""
    from dtle_tui.screens.add_job import AddJobScreen

    spec = json.loads((FIXTURES / "reference" / "dtle_job_example.json").read_text(encoding="utf-8"))
    spec["Job"]["ID"] = spec["Job"]["Name"] = STOPPED
    path = Path(pilot.app.settings.state_dir).parent.parent / "job.json"
    path.write_text(json.dumps(spec), encoding="utf-8")
    await scenes.loaded(pilot)
    await pilot.press("a")
    await until(pilot, lambda: isinstance(pilot.app.screen, AddJobScreen), what="the add dialog")
    pilot.app.screen.query_one("#add-input").value = str(path)
    await pilot.press("enter")
    await until(pilot, lambda: _confirm_open(pilot.app), what="the add confirmation")
    await settled(pilot)


async def _running_alloc_on_detail(pilot) -> None:
    await scenes.job_detail(pilot)
    app = pilot.app
    screen = app.screen
    table = screen.query_one("#allocs")
    running = next(a for a in app.snapshot.detail.allocations if a.client_status == "running")
    table.move_cursor(row=table.row_keys.index(running.id))
    await until(pilot, lambda: screen.current_allocation() is not None and screen.current_allocation().id == running.id,
                what="the running allocation selected")


async def restart_alloc(pilot) -> None:
    await _running_alloc_on_detail(pilot)
    await _press_until_open(pilot, "r")


async def stop_alloc(pilot) -> None:
    await _running_alloc_on_detail(pilot)
    await _press_until_open(pilot, "K")


async def eligibility(pilot) -> None:
    await scenes.nodes(pilot)
    await _press_until_open(pilot, "e")


async def drain(pilot) -> None:
    """D on a node that is not draining: its own dialog (deadline, the node's name to type)."""
    await scenes.on_node(pilot, "dtle-node-2")
    await _press_until_open(pilot, "D")


# key -> scene: every confirmation a key opens (D's drain dialog is its own screen, fitted the same way).
DIALOGS: Dict[str, Any] = {
    "d": delete,
    "P": purge,
    "G": gtid_reset_stopped,
    "U": restore_gtid,
    "R": readd,
    "a": add,
    "r": restart_alloc,
    "K": stop_alloc,
    "e": eligibility,
    "D": drain,
}


def _rows_of(app: Any, widget: Any) -> List[str]:
    """The painted rows of a widget's content (its scrollbar left out)."""
    rows = visible_lines(app)
    region = widget.scrollable_content_region
    return [rows[y][region.x:region.right] for y in range(region.y, region.bottom)]


def assert_controls_in_view(app: Any) -> None:
    """The buttons (and the ID box) are on screen, painted where they are, and not under anything else."""
    screen = app.screen
    width, height = app.size
    rows = visible_lines(app)
    for button in screen.query(Button):
        region = button.region
        assert region.height > 0 and region.bottom <= height and region.right <= width, button.id
        label = str(button.label)
        assert label in rows[region.y], (button.id, rows[region.y])
    for box in screen.query(Input):
        assert box.region.height > 0 and box.region.bottom <= height and box.region.right <= width, box.id


async def read_whole_dialog(pilot) -> str:
    """Every line the dialog holds, as the operator reads it: page by page with PgDn while it says more is
    below. At every step the buttons are in view, and whenever lines are hidden the dialog says so on
    screen. Returns the text read, in order, rows joined without their wrapping."""
    app = pilot.app
    screen = app.screen
    box = screen.query_one(f"#{screen.FIT}-lines")
    more = screen.query_one(f"#{screen.FIT}-more")
    read: Dict[int, str] = {}
    for _ in range(60):
        assert_controls_in_view(app)
        top = round(box.scroll_y)
        for offset, row in enumerate(_rows_of(app, box)):
            read[top + offset] = row
        hidden_below = box.max_scroll_y - top
        if box.max_scroll_y:
            sign = " ".join(_rows_of(app, more)) if more.display else ""
            assert more.display and more.region.height > 0, "lines hidden without a sign"
            if hidden_below:
                assert f"↓ {hidden_below} more line" in sign, sign
            if top:
                assert f"↑ {top} above" in sign, sign
        if not hidden_below:
            break
        shown = _rows_of(app, box)
        await pilot.press("pagedown")
        await until(pilot, lambda t=top: round(box.scroll_y) > t, what="the lines to scroll")
        await until(pilot, lambda s=shown: _rows_of(app, box) != s, what="the next lines painted")
    else:
        raise AssertionError("the dialog never reached its last line")
    return "\n".join(read[y] for y in sorted(read))


def squeezed(text: str) -> str:
    """Without any whitespace: a line wrapped over rows compares with its one-line form."""
    return "".join(text.split())


def dialog_lines(screen: Any) -> List[str]:
    """The lines the dialog holds: what will be sent, the backup, the notes."""
    return str(screen.query_one(f"#{screen.FIT}-text").render()).splitlines()


def missing_lines(screen: Any, read: str) -> List[str]:
    """The dialog's lines the operator could not read."""
    got = squeezed(read)
    return [line for line in dialog_lines(screen) if squeezed(line) not in got]
