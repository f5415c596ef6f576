"""Every confirmation flow through Pilot: focus, y / n / escape, typed job IDs, small terminals."""

from __future__ import annotations

from typing import Any

import pytest
from textual.app import App
from textual.widgets import Button, Input, Static

from dtle_tui.app import DtleApp
from dtle_tui.screens.add_job import AddJobScreen
from dtle_tui.screens.confirm import RESET_FIRST, ConfirmScreen
from tests.helpers.screen import focused_id
from tests.helpers.wait import until

LINES = ["→ GET /v1/job/mig-%5Bb%5Dops", "→ DELETE /v1/job/mig-%5Bb%5Dops", "Backup first, to /s/[b]x"]
NOT_SET = object()


class Host(App):
    CSS = DtleApp.CSS  # the dialogs' styles live in dtle_tui.tcss, as in the real app

    def __init__(self, screen) -> None:
        super().__init__()
        self.modal = screen
        self.answer: Any = NOT_SET

    def on_mount(self) -> None:
        self.push_screen(self.modal, self._done)

    def _done(self, answer: Any) -> None:
        self.answer = answer


async def run(screen, keys=(), size=(80, 24)) -> Host:
    app = Host(screen)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        for key in keys:
            await pilot.press(key)
        await pilot.pause()
    return app


def text_of(screen, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


async def test_yes_no_focuses_cancel_and_y_confirms():
    screen = ConfirmScreen("Delete (stop) job", "mig-[b]ops", LINES)
    app = Host(screen)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: focused_id(app) == "confirm-cancel", "Cancel focused")
        assert isinstance(app.focused, Button)
        shown = " ".join(str(s.render()) for s in screen.query(Static))
        assert "mig-[b]ops" in shown and "DELETE /v1/job/mig-%5Bb%5Dops" in shown and "[b]x" in shown
        await pilot.press("y")
        await pilot.pause()
    assert app.answer is True


@pytest.mark.parametrize("key", ["n", "escape", "enter"])  # enter presses the focused Cancel
async def test_yes_no_cancels(key):
    app = await run(ConfirmScreen("Delete (stop) job", "job1", LINES), [key])
    assert app.answer is False


async def test_extra_choice_answers_reset_first():
    app = await run(ConfirmScreen("Re-add", "job1", LINES, extra_choice="Reset Gtid first"), ["r"])
    assert app.answer == RESET_FIRST
    plain = await run(ConfirmScreen("Re-add", "job1", LINES), ["r"])  # no extra choice: r does nothing
    assert plain.answer is NOT_SET


async def test_type_id_needs_the_exact_id():
    screen = ConfirmScreen("Purge job", "mig-[b]ops", LINES, mode="type_id")
    app = Host(screen)
    async with app.run_test(size=(80, 24)) as pilot:
        box = screen.query_one("#confirm-input", Input)
        await until(pilot, lambda: app.focused is box, "the ID box focused")
        await pilot.press("enter")  # empty
        await pilot.pause()
        assert app.answer is NOT_SET and "Nothing typed" in text_of(screen, "#confirm-message")
        await pilot.press(*"mig-[B]ops")  # different (case), and y/n/r are typed, not acted on
        await pilot.press("enter")
        await pilot.pause()
        assert app.answer is NOT_SET and "not the job ID" in text_of(screen, "#confirm-message")
        assert box.value == "mig-[B]ops"
        box.value = ""
        await pilot.press(*"mig-[b]ops ")  # a trailing space is not the ID either
        await pilot.press("enter")
        await pilot.pause()
        assert app.answer is NOT_SET
        box.value = ""
        await pilot.press(*"mig-[b]ops", "enter")
        await pilot.pause()
    assert app.answer is True


async def test_type_id_letters_never_confirm_or_cancel():
    screen = ConfirmScreen("Reset Gtid", "ynr", LINES, mode="type_id")
    app = Host(screen)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("y", "n", "r")
        await pilot.pause()
        assert app.answer is NOT_SET
        assert screen.query_one("#confirm-input", Input).value == "ynr"


async def test_type_id_escape_cancels_even_with_the_id_typed():
    app = await run(ConfirmScreen("Purge job", "job1", LINES, mode="type_id"), [*"job1", "escape"])
    assert app.answer is False


@pytest.mark.parametrize("size", [(80, 24), (60, 20)])
async def test_small_terminals_keep_the_buttons_visible(size):
    lines = [f"→ line {i} " + "x" * 90 for i in range(30)]
    screen = ConfirmScreen("Purge job", "job1", lines, mode="type_id")
    app = Host(screen)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        for selector in ("#confirm-ok", "#confirm-cancel", "#confirm-input"):
            region = screen.query_one(selector).region
            assert region.height > 0 and region.bottom <= size[1] and region.right <= size[0], selector
        await pilot.click("#confirm-cancel")
        await pilot.pause()
    assert app.answer is False


async def test_add_dialog_shows_errors_verbatim_and_stays_open(tmp_path):
    seen = []

    async def check(path: str):
        seen.append(path)
        return None if path.endswith("good.json") else "invalid JSON in x: Expecting value at line 3 column 5 [b]"

    screen = AddJobScreen(check)
    app = Host(screen)
    async with app.run_test(size=(60, 20)) as pilot:
        await until(pilot, lambda: focused_id(app) == "add-input", "the path box focused")
        await pilot.press("enter")
        await pilot.pause()
        assert "Type the path" in text_of(screen, "#add-error") and seen == []
        await pilot.press(*"bad.json", "enter")
        await pilot.pause()
        await pilot.pause()
        assert "line 3 column 5 [b]" in text_of(screen, "#add-error")
        assert app.answer is NOT_SET
        screen.query_one("#add-input", Input).value = "~/good.json"
        await pilot.press("enter")
        await pilot.pause()
        await pilot.pause()
    assert app.answer == "~/good.json" and seen == ["bad.json", "~/good.json"]


async def test_add_dialog_escape_cancels():
    app = await run(AddJobScreen(None), ["escape"])
    assert app.answer is None
