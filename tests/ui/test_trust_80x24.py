"""Issue 26, items 2, 3 and 6 at 80x24 on the frozen demo scenario: a toast never covers a dialog and a key
dismisses it; the footer keeps `?` and `q` and cuts no word on any screen; `r` and `K` are offered only where
Nomad can do them and say why elsewhere. Messages never cite a document."""

from __future__ import annotations

import ast

import pytest

from dtle_tui.screens.confirm import FittedDialog
from tests import scenes
from tests.helpers import dialog_scenes, frozen
from tests.helpers.paths import ROOT
from tests.helpers.screen import footer_labels, notifications, visible_lines
from tests.helpers.wait import until

frozen_cluster, pinned_clock = frozen.frozen_cluster, frozen.pinned_clock  # the fixtures (tests/helpers/frozen.py)
SCENE_SLOT = 1  # its own fixed ports and home: runs beside the SVG tests (tests/scenes.py)


def footer(app) -> str:
    return visible_lines(app)[-1]



async def dialog_open(pilot) -> None:
    await until(pilot, lambda: isinstance(pilot.app.screen, FittedDialog), what="a dialog")
    await dialog_scenes.settled(pilot)


# ---- item 2: toasts ------------------------------------------------------------------------------------
async def test_a_refusal_toast_waits_while_the_delete_dialog_is_open(frozen_cluster):
    app = scenes.make_app(frozen_cluster)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await dialog_scenes.on_job(pilot, "job1")
        await pilot.press("G")  # refused on a running job: a toast
        await until(pilot, lambda: any("Gtid" in n or "refused" in n.lower() for n in notifications(app)),
                    what="the refusal toast")
        toast = notifications(app)[-1]
        await until(pilot, lambda: any(toast.strip()[:30] in line for line in visible_lines(app))
                    or "ctrl+l" in footer(app) or "^l" in footer(app), what="the toast on screen")
        await pilot.press("d")
        await dialog_open(pilot)
        # The toast is not drawn over the dialog: the dialog's lines and buttons are all there.
        assert notifications(app) == []

        def whole_dialog_no_toast() -> bool:
            shown = dialog_scenes.squeezed("\n".join(visible_lines(app)))
            return "Backupfirst,to" in shown and "CancelDelete" in shown and "rewritetheGtid" not in shown

        await until(pilot, whole_dialog_no_toast, what="the whole dialog, no toast on screen")
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, FittedDialog), what="the dialog closed")
        # … and comes back once the dialog has closed (with the time it had left).
        await until(pilot, lambda: any(toast == n for n in notifications(app)), what="the toast back")


async def test_ctrl_l_dismisses_the_toasts_and_is_shown_only_while_one_is_up(frozen_cluster):
    app = scenes.make_app(frozen_cluster)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await dialog_scenes.on_job(pilot, "job1")
        assert "Dismiss" not in [label for _, label in footer_labels(app)]
        await pilot.press("G")
        await until(pilot, lambda: notifications(app), what="a toast")
        await until(pilot, lambda: "Dismiss" in [label for _, label in footer_labels(app)],
                    what="the dismiss key in the footer")
        labels = footer_labels(app)
        assert labels[-2:] == [("?", "Help"), ("q", "Quit")]
        await pilot.press("ctrl+l")
        await until(pilot, lambda: not notifications(app), what="the toasts dismissed")
        await until(pilot, lambda: "Dismiss" not in [label for _, label in footer_labels(app)],
                    what="the dismiss key gone with them")
        assert app.screen.KEYS_TITLE == "Jobs"  # escape was not needed, nothing else happened


def test_no_message_shown_to_the_operator_cites_a_document():
    """Strings in the code that are not docstrings or comments (what a user may read) never name a
    document (`dtle.md §4`): a reference stays in a comment."""
    found = []
    for path in sorted((ROOT / "dtle_tui").rglob("*.py")):
        if "sim" in path.relative_to(ROOT / "dtle_tui").parts:
            continue  # the simulator answers as Nomad does
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = set()
        for node in ast.walk(tree):
            body = getattr(node, "body", None)
            if isinstance(body, list) and body and isinstance(body[0], ast.Expr) \
                    and isinstance(body[0].value, ast.Constant):
                docstrings.add(id(body[0].value))
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
                text = node.value
                if "§" in text or "docs/reference" in text or "dtle.md" in text or "nomad-api.md" in text:
                    found.append(f"{path.name}:{node.lineno}: {text[:60]!r}")
    assert found == []


# ---- item 3: the footer at 80 columns ------------------------------------------------------------------
FOOTER_SCENES = ["jobs", "job_detail", "allocation", "nodes", "orphans", "node_detail", "logs"]


async def logs_scene(pilot) -> None:
    from dtle_tui.screens.logs import LogsScreen

    await scenes.job_detail(pilot)
    await pilot.press("l")
    await until(pilot, lambda: isinstance(pilot.app.screen, LogsScreen), what="the logs")
    await pilot.pause(0.3)


@pytest.mark.parametrize("scene", FOOTER_SCENES)
async def test_the_footer_at_80_columns_keeps_help_and_quit_and_cuts_no_word(scene, frozen_cluster):
    app = scenes.make_app(frozen_cluster)
    async with app.run_test(size=(80, 24)) as pilot:
        await (logs_scene(pilot) if scene == "logs" else scenes.SCENES[scene](pilot))
        await pilot.pause(0.3)
        labels = footer_labels(app)
        line = footer(app)
        assert labels[-2:] == [("?", "Help"), ("q", "Quit")], line
        # Every key shown is whole on the line, in its order: nothing runs off the edge.
        expected = " ".join(f"{key} {label}" for key, label in labels)
        assert line.rstrip() == expected, line
        assert len(expected) <= 80


async def test_job_detail_puts_its_own_keys_first_at_80_columns(frozen_cluster):
    app = scenes.make_app(frozen_cluster)
    async with app.run_test(size=(80, 24)) as pilot:
        await dialog_scenes._running_alloc_on_detail(pilot)
        await pilot.pause(0.3)
        keys = [key for key, _ in footer_labels(app)]
        assert keys[:4] == ["esc", "l", "r", "K"], footer(app)


# ---- item 6: repair keys only where Nomad can do them -----------------------------------------------------
async def test_r_and_k_are_refused_with_a_reason_on_a_failed_allocation(frozen_cluster):
    app = scenes.make_app(frozen_cluster)
    async with app.run_test(size=(80, 24)) as pilot:
        await scenes.allocation(pilot)  # the failed allocation of payments-sync
        alloc = app.snapshot.allocation
        assert alloc.client_status == "failed"
        keys = [key for key, _ in footer_labels(app)]
        assert "r" not in keys and "K" not in keys, footer(app)
        app.action_command_palette()
        await until(pilot, lambda: app.screen.__class__.__name__ == "CommandPalette", what="the palette")
        titles = [c.title for c in app.get_system_commands(app.screen_stack[-2])]
        assert not any(t.startswith("Restart") or t.startswith("Stop the") for t in titles), titles
        await pilot.press("escape")
        await until(pilot, lambda: app.screen.KEYS_TITLE == "Allocation", what="back on the allocation")
        await pilot.press("r")
        await until(pilot, lambda: any("restarts only a running task" in n for n in notifications(app)),
                    what="the restart refused with its reason")
        refusal = [n for n in notifications(app) if "running task" in n][-1]
        assert alloc.short_id in refusal and "failed" in refusal and "Nothing was sent" in refusal
        assert "\n" not in refusal.strip()
        assert not isinstance(app.screen, FittedDialog)  # no dialog opened


async def test_k_is_refused_on_a_complete_allocation(frozen_cluster):
    from dtle_tui.model.allocations import Allocation
    from dtle_tui.ops.repair import repair_refusal

    app = scenes.make_app(frozen_cluster)
    async with app.run_test(size=(80, 24)) as pilot:
        await scenes.job_detail(pilot)
        ended = [a for a in app.snapshot.detail.allocations if a.client_status in ("complete", "failed")]
        assert ended, "the frozen scenario's payments-sync has an allocation that ended"
        table = app.screen.query_one("#allocs")
        table.move_cursor(row=table.row_keys.index(ended[0].id))
        await until(pilot, lambda: "K" not in [key for key, _ in footer_labels(app)], what="K leaves the footer")
        await pilot.press("K")
        await until(pilot, lambda: any("already ended" in n for n in notifications(app)), what="K refused")
        assert not isinstance(app.screen, FittedDialog)
    complete = Allocation(id="c0ffee00-0000-0000-0000-000000000000", client_status="complete",
                          desired_status="stop")
    assert "stop complete" in (repair_refusal("stop-alloc", complete) or "")
    running = Allocation(id="c0ffee00-0000-0000-0000-000000000001", client_status="running", desired_status="run")
    assert repair_refusal("stop-alloc", running) is None and repair_refusal("restart", running) is None


async def test_r_and_k_stay_offered_on_a_running_allocation(frozen_cluster):
    app = scenes.make_app(frozen_cluster)
    async with app.run_test(size=(80, 24)) as pilot:
        await dialog_scenes._running_alloc_on_detail(pilot)
        await until(pilot, lambda: {"r", "K"} <= {key for key, _ in footer_labels(app)}, what="r and K offered")
        await pilot.press("r")
        await dialog_open(pilot)
        assert "Restart" in "\n".join(visible_lines(app))


# ---- issue 26 item 8: Nodes shows every column at any width ---------------------------------------------
def table_text(app, table_id: str) -> list:
    table = app.screen.query_one(table_id)
    top = table.region.y
    return visible_lines(app)[top:top + table.region.height]


async def test_nodes_at_80_columns_show_drain_and_w_shows_every_column(frozen_cluster):
    app = scenes.make_app(frozen_cluster)
    async with app.run_test(size=(80, 24)) as pilot:
        await scenes.nodes(pilot)
        lines = table_text(app, "#nodes-table")
        header = lines[0]
        for label in ("Name", "Status", "Elig", "Drain", "dtle driver", "dtle version"):
            assert label in header, header
        draining = next(line for line in lines if "dtle-node-4" in line)  # the frozen scenario drains node 4
        assert draining.split()[4] == "yes", draining
        await pilot.press("w")
        table = app.screen.query_one("#nodes-table")
        await until(pilot, lambda: [str(k.value) for k in table.columns] ==
                    ["name", "id", "address", "dc", "status", "elig", "drain", "nomad", "dtle", "version", "full",
                     "health"], what="every column")
        unhealthy = next(n for n in app.snapshot.nodes if n.name == "dtle-node-2")
        description = unhealthy.dtle.health_description
        assert description in str(table.get_cell(unhealthy.id, "health")), "the health text is whole"
        await pilot.press("end")  # scrolls to the last column; the name column stays in view
        await until(pilot, lambda: any(description[-30:] in line and line.startswith(" dtle-node-2")
                                       for line in table_text(app, "#nodes-table")),
                    what="the health column scrolled into view beside the node's name")


async def test_nodes_at_160_columns_show_the_health_text_not_cut_to_its_label(frozen_cluster):
    app = scenes.make_app(frozen_cluster)
    async with app.run_test(size=(160, 24)) as pilot:
        await scenes.nodes(pilot)
        table = app.screen.query_one("#nodes-table")
        widths = {str(k.value): c.width for k, c in table.columns.items()}
        assert widths["health"] >= 30, widths
        assert any("Healthy" in line for line in table_text(app, "#nodes-table"))


# ---- issue 22 item 6: Node detail ---------------------------------------------------------------------------
async def test_node_detail_shows_allocations_by_job_drivers_events_eligibility_and_drain(frozen_cluster):
    app = scenes.make_app(frozen_cluster)
    async with app.run_test(size=(80, 24)) as pilot:
        await scenes.node_detail(pilot)
        view = app.snapshot.node_view
        shown = "\n".join(visible_lines(app))
        assert "dtle-node-1" in shown and "Eligibility: eligible" in shown and "Drain: no" in shown
        # Drivers with their health description.
        assert "dtle" in shown and "Failed to connect to docker daemon" in shown
        # Events.
        assert "Node registered" in shown
        # Allocations grouped by job: the job named once, its src before its dest.
        table = app.screen.query_one("#node-allocs")
        rows = [[str(c) for c in table.get_row(key)] for key in table.row_keys]
        job1 = [r for r in rows if r[0] == "job1"]
        assert len(job1) == 1, "the job is named on the first row of its group"
        at = rows.index(job1[0])
        assert rows[at][1] == "src" and rows[at + 1][0] == "" and rows[at + 1][1] == "dest"
        assert "run running" in rows[at][3]
        assert len(rows) == len(view.allocations)
        # Enter on an allocation opens its job.
        table.focus()
        table.move_cursor(row=at)
        await pilot.press("enter")
        await until(pilot, lambda: getattr(app.screen, "job_id", None) == "job1", what="job1's detail")
        await pilot.press("escape")
        await until(pilot, lambda: app.screen.KEYS_TITLE == "Node detail", what="back on Node detail")
        await pilot.press("escape")
        await until(pilot, lambda: app.screen.KEYS_TITLE == "Nodes", what="back on Nodes")
        # Closed, the node is no longer followed.
        await until(pilot, lambda: app.snapshot.node_view is None, what="the open node closed")
        assert "node" not in app.poller.feeds and "node_allocations" not in app.poller.feeds


async def test_the_drain_dialog_lists_the_dtle_tasks_a_drain_would_move(frozen_cluster):
    from dtle_tui.screens.drain import DrainScreen

    app = scenes.make_app(frozen_cluster)
    async with app.run_test(size=(80, 24)) as pilot:
        await scenes.node_detail(pilot)
        view = app.snapshot.node_view
        moving = [a for a in view.allocations if a.id in view.dtle and a.client_status in ("running", "pending")
                  and a.desired_status == "run"]
        await pilot.press("D")
        await until(pilot, lambda: isinstance(app.screen, DrainScreen), what="the drain dialog")
        await dialog_scenes.settled(pilot)
        read = await dialog_scenes.read_whole_dialog(pilot)
        text = dialog_scenes.squeezed(read)
        jobs = {a.job_id for a in moving}
        assert dialog_scenes.squeezed(f"The drain moves {len(moving)} dtle task(s) of {len(jobs)} job(s)") in text
        for alloc in moving:
            assert alloc.short_id in text, alloc
        ended = [a for a in view.allocations if a.client_status in ("complete", "failed")]
        assert ended and not any(a.short_id in text for a in ended), "an allocation that ended does not move"
        await pilot.press("escape")
