"""Issue 26, item 1: at 80x24 every confirmation shows every request it will send, the backup line and its
buttons — whole, or scrolling with a sign on screen that more is above or below, the buttons in view.

Each key opens its real dialog in the app against the frozen demo scenario (tests/helpers/dialog_scenes.py); the
dialog is read as the operator reads it, page by page (PgDn) while it says more is below.
"""

from __future__ import annotations

import pytest
from textual.app import App
from textual.widgets import Input

from dtle_tui.app import DtleApp
from dtle_tui.screens.confirm import ConfirmScreen, FittedDialog
from tests import scenes
from tests.helpers import dialog_scenes, frozen
from tests.helpers.dialog_scenes import dialog_lines, missing_lines, read_whole_dialog, squeezed

frozen_cluster, pinned_clock = frozen.frozen_cluster, frozen.pinned_clock  # the fixtures (tests/helpers/frozen.py)
SCENE_SLOT = 2  # its own fixed ports and home: runs beside the SVG tests (tests/scenes.py)


@pytest.mark.parametrize("size", [(80, 24), (60, 20)], ids=["80x24", "60x20"])
@pytest.mark.parametrize("key", sorted(dialog_scenes.DIALOGS))
async def test_every_dialog_can_be_read_whole_with_its_buttons_in_view(key, size, frozen_cluster):
    app = scenes.make_app(frozen_cluster)
    async with app.run_test(size=size) as pilot:
        await dialog_scenes.DIALOGS[key](pilot)
        screen = app.screen
        lines = dialog_lines(screen)
        read = await read_whole_dialog(pilot)
        assert missing_lines(screen, read) == []
        assert [line for line in lines if line.startswith("→ ")], "the dialog names the requests it will send"
        if key != "U":  # U puts keys back with cas=0: it never overwrites, so it destroys nothing to back up
            assert [line for line in lines if line.startswith("Backup first, to ")], "and where the backup goes"
        assert "//dtle//" not in read
        await pilot.press("escape")
        await dialog_scenes.until(pilot, lambda: not isinstance(app.screen, FittedDialog), what="closed")


async def test_the_gtid_reset_of_a_stopped_job_is_whole_at_80x24_without_scrolling(frozen_cluster):
    """The dialog the issue saw clipped: both DELETEs, the backup line and the buttons, on one screen."""
    app = scenes.make_app(frozen_cluster)
    async with app.run_test(size=(80, 24)) as pilot:
        await dialog_scenes.gtid_reset_stopped(pilot)
        box = app.screen.query_one("#confirm-lines")
        assert box.max_scroll_y == 0 and not app.screen.query_one("#confirm-more").display
        shown = squeezed("\n".join(dialog_scenes.visible_lines(app)))
        for line in ("→ DELETE /v1/kv/dtle/legacy-stopped/?recurse", "→ DELETE /v1/kv/dtleJobList/legacy-stopped",
                     "Backup first, to", "mysql-bin.000123:4567"):
            assert squeezed(line) in shown, line
        dialog_scenes.assert_controls_in_view(app)


class Host(App):
    CSS = DtleApp.CSS

    def __init__(self, screen) -> None:
        super().__init__()
        self.modal = screen

    def on_mount(self) -> None:
        self.push_screen(self.modal)


LONG = [f"→ PUT /v1/kv/dtle/job1/key{i:02d}?cas=0&flags=3304740253564472344" for i in range(40)] + [
    "Backup first, to /state/dtle-tui/backups/127.0.0.1%3A4646/job1/<UTC timestamp>"]


@pytest.mark.parametrize("mode", ["yes_no", "type_id"])
async def test_a_long_list_scrolls_with_a_sign_and_keys_and_the_buttons_stay(mode):
    screen = ConfirmScreen("Restore", "job1", LONG, mode=mode)
    app = Host(screen)
    async with app.run_test(size=(80, 24)) as pilot:
        await dialog_scenes.settled(pilot)
        more = screen.query_one("#confirm-more")
        await dialog_scenes.until(pilot, lambda: "more line" in str(more.render()), what="the sign of more lines")
        assert more.display and "↓" in str(more.render())
        box = screen.query_one("#confirm-lines")
        await pilot.press("down")
        await dialog_scenes.until(pilot, lambda: box.scroll_y == 1, what="one line down")
        assert "↑ 1 above" in str(more.render())
        await pilot.press("up")
        await dialog_scenes.until(pilot, lambda: box.scroll_y == 0, what="back up")
        read = await read_whole_dialog(pilot)
        assert missing_lines(screen, read) == []
        assert "every line shown" not in str(more.render()) and "↓" not in str(more.render())
        if mode == "type_id":  # the arrows scrolled; nothing was typed into the job ID box
            assert screen.query_one("#confirm-input", Input).value == ""


async def test_the_sign_goes_when_the_terminal_grows_and_comes_back_when_it_shrinks():
    screen = ConfirmScreen("Restore", "job1", LONG[:20], mode="type_id")
    app = Host(screen)
    async with app.run_test(size=(80, 24)) as pilot:
        await dialog_scenes.settled(pilot)
        more = screen.query_one("#confirm-more")
        assert more.display
        await pilot.resize_terminal(120, 40)
        await dialog_scenes.until(pilot, lambda: not more.display, what="every line shown at 120x40")
        dialog_scenes.assert_controls_in_view(app)
        await pilot.resize_terminal(80, 24)
        await dialog_scenes.until(pilot, lambda: more.display, what="the sign back at 80x24")
        dialog_scenes.assert_controls_in_view(app)


async def test_a_wrong_id_message_keeps_the_buttons_in_view():
    screen = ConfirmScreen("Purge job", "job1", LONG, mode="type_id")
    app = Host(screen)
    async with app.run_test(size=(80, 24)) as pilot:
        await dialog_scenes.settled(pilot)
        await pilot.press(*"nope", "enter")
        message = screen.query_one("#confirm-message")
        await dialog_scenes.until(pilot, lambda: message.display and message.region.height > 0,
                                       what="the message")
        await pilot.pause(0.2)
        assert message.region.bottom <= 24
        dialog_scenes.assert_controls_in_view(app)
        assert "not the job ID" in "\n".join(dialog_scenes.visible_lines(app))
