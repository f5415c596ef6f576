"""OSC 52: exact bytes, tmux passthrough, and the App path through Textual's driver."""

from __future__ import annotations

import io

from textual.app import App

from dtle_tui.clipboard import copy_and_notify, copy_to_clipboard, osc52, tmux_passthrough

JOB = "mig-[b]ops"  # base64 "bWlnLVtiXW9wcw=="


def test_osc52_exact_bytes():
    assert osc52(JOB, env={}) == "\x1b]52;c;bWlnLVtiXW9wcw==\x07"


def test_osc52_utf8_payload():
    assert osc52("é", env={}) == "\x1b]52;c;w6k=\x07"


def test_osc52_tmux_passthrough_exact_bytes():
    env = {"TMUX": "/tmp/tmux-1000/default,123,0"}
    assert osc52(JOB, env=env) == "\x1bPtmux;\x1b\x1b]52;c;bWlnLVtiXW9wcw==\x07\x1b\\"


def test_passthrough_doubles_every_escape():
    assert tmux_passthrough("\x1b]x\x1b\\") == "\x1bPtmux;\x1b\x1b]x\x1b\x1b\\\x1b\\"


def test_copy_to_a_file_and_to_a_callable():
    out = io.StringIO()
    copy_to_clipboard(out, "x", env={})
    assert out.getvalue() == "\x1b]52;c;eA==\x07"
    got = []
    copy_to_clipboard(got.append, "x", env={"TMUX": "1"})
    assert got == ["\x1bPtmux;\x1b\x1b]52;c;eA==\x07\x1b\\"]


class FakeDriver:
    def __init__(self) -> None:
        self.written: list = []

    def write(self, data: str) -> None:
        self.written.append(data)


class FakeApp:
    """Duck-typed like textual.App: copy_to_clipboard writes plain OSC 52 to its driver."""

    def __init__(self) -> None:
        self._driver = FakeDriver()
        self.clipboard = ""
        self.notes: list = []

    def copy_to_clipboard(self, text: str) -> None:
        App.copy_to_clipboard(self, text)  # Textual's own implementation, on our fake driver

    def notify(self, message: str, **kw) -> None:
        self.notes.append((message, kw.get("severity", "information")))


def test_app_path_uses_textual_and_adds_tmux_passthrough():
    app = FakeApp()
    copy_to_clipboard(app, JOB, env={"TMUX": "x"})
    assert App.clipboard.fget(app) == JOB  # what Textual's copy_to_clipboard kept, read its public way
    assert app._driver.written == [
        "\x1b]52;c;bWlnLVtiXW9wcw==\x07",
        "\x1bPtmux;\x1b\x1b]52;c;bWlnLVtiXW9wcw==\x07\x1b\\",
    ]
    app2 = FakeApp()
    copy_to_clipboard(app2, JOB, env={})
    assert app2._driver.written == ["\x1b]52;c;bWlnLVtiXW9wcw==\x07"]


def test_copy_and_notify(monkeypatch):
    monkeypatch.delenv("TMUX", raising=False)
    app = FakeApp()
    assert copy_and_notify(app, JOB, "job ID") is True
    assert app.notes == [("Copied job ID: mig-[b]ops", "information")]
    assert copy_and_notify(app, "", "Gtid set") is False
    assert app.notes[-1] == ("No Gtid set to copy.", "warning")


async def test_real_textual_app_clipboard(monkeypatch):
    monkeypatch.delenv("TMUX", raising=False)
    app = App()
    async with app.run_test() as pilot:
        copy_and_notify(app, JOB, "job ID")
        await pilot.pause()
        assert app.clipboard == JOB
