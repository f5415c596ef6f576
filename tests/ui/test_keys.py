"""One key table (issue 14, item 4): every key a screen answers is a binding with an ID, `?` lists every
binding of the screen in front, the README's table is the bindings', and [keys] remaps by ID."""

from __future__ import annotations

import ast

import pytest
from textual.binding import Binding

from dtle_tui.app import DtleApp, later
from dtle_tui.keys import bindings_of, readme_table, write_name, writes
from dtle_tui.screens.confirm import ConfirmScreen
from dtle_tui.screens.help import HelpScreen
from dtle_tui.screens.job_detail import JobDetailScreen
from dtle_tui.screens.jobs import JobsScreen
from dtle_tui.screens.logs import LogsScreen
from tests.helpers.paths import ROOT
from tests.helpers.screen import screen_text
from tests.helpers.wait import until
from tests.ui.test_action_keys import nomad_writes, select


def declared(cls: type) -> list[Binding]:
    """Every binding the class and its bases declare, minus keys a subclass binds again (the oracle is
    written apart from keys.bindings_of on purpose)."""
    out, taken = [], set()
    for klass in cls.__mro__:
        own = [b for b in Binding.make_bindings(klass.__dict__.get("BINDINGS", [])) if not b.system]
        out += [b for b in own if b.key not in taken]
        taken |= {b.key for b in own}
    return out


def test_every_binding_of_ours_has_an_id():
    for cls in DtleApp.binding_classes():
        ours = [b for klass in cls.__mro__ if klass.__module__.startswith("dtle_tui")
                for b in Binding.make_bindings(klass.__dict__.get("BINDINGS", []))]
        assert ours, cls
        missing = [b.key for b in ours if not (b.id or "").startswith("dtle.")]
        assert not missing, f"{cls.__name__}: bindings without a dtle.* id: {missing}"


def test_every_write_key_has_its_flow_and_every_flow_a_key():
    """A key declared with keys.write_key is a write (the mark): it has a flow, and no flow is left
    without a key."""
    from dtle_tui.intents import FLOWS

    names = {write_name(b.action) for cls in DtleApp.binding_classes() for b in bindings_of(cls)
             if writes(b.action)}
    assert names == set(FLOWS)
    assert {"delete", "reset-gtid", "restart", "node-drain"} <= names


def test_no_key_is_answered_outside_the_bindings():
    """No on_key dispatch left: a screen answers keys only through its BINDINGS."""
    files = [ROOT / "dtle_tui" / "app.py", *sorted((ROOT / "dtle_tui" / "screens").glob("*.py"))]
    for path in files:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        methods = [m for c in ast.walk(tree) if isinstance(c, ast.ClassDef) for m in c.body
                   if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef))]
        # Textual dispatches a key to on_key/_on_key and to key_<name> methods: none may exist.
        handlers = [f"{path.name}:{m.lineno} {m.name}" for m in methods
                    if m.name in ("on_key", "_on_key") or m.name.startswith("key_")]
        assert not handlers, handlers


def test_readme_keys_table_is_the_bindings():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert readme_table(DtleApp) in readme, "README's keys table differs: paste dtle_tui.keys.readme_table(DtleApp)"


def help_lines(app) -> list[str]:
    return [" ".join(line.split()) for line in screen_text(app).splitlines()]


def assert_help_lists(app, screen) -> None:
    lines = help_lines(app)
    own = declared(type(screen))
    # The focused table's keys too, but for those the screen binds itself (the table's `enter` opens as well).
    table = [b for b in declared(type(screen.focused)) if b.id and b.key not in {o.key for o in own}] \
        if screen.focused is not None else []
    for binding in own + table + declared(DtleApp):
        key, text = app.get_key_display(binding), binding.tooltip or binding.description
        keys_of_text = [line[: line.index(text)].strip().split(" / ") for line in lines if text in line]
        assert any(key in keys for keys in keys_of_text), \
            f"{type(screen).__name__}: {key} ({text}) missing from help:\n" + "\n".join(lines)


async def open_help_on(pilot, app, screen_type) -> None:
    screen = app.screen
    assert isinstance(screen, screen_type), screen
    await pilot.press("question_mark")
    await until(pilot, lambda: isinstance(app.screen, HelpScreen), "help")
    assert_help_lists(app, screen)
    await pilot.press("escape")
    await until(pilot, lambda: app.screen is screen, "help closed")


async def test_help_lists_every_binding_of_every_screen(frozen_sim, make_settings):
    app = DtleApp(make_settings(frozen_sim))
    async with app.run_test(size=(120, 40)) as pilot:
        await select(pilot, app, "job1")
        await open_help_on(pilot, app, JobsScreen)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, JobDetailScreen) and app.snapshot.detail, "Job detail")
        await until(pilot, lambda: app.screen.allocs_table.row_count > 0, "its allocations")
        await open_help_on(pilot, app, JobDetailScreen)
        await pilot.press("l")
        await until(pilot, lambda: isinstance(app.screen, LogsScreen), "Logs")
        await open_help_on(pilot, app, LogsScreen)
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, JobDetailScreen), "back on Job detail")
        await pilot.press("enter")
        allocation = later("allocation")
        await until(pilot, lambda: isinstance(app.screen, allocation), "Allocation")
        await open_help_on(pilot, app, allocation)
        for key, name in (("2", "nodes"), ("3", "orphans")):
            await pilot.press(key)
            cls = later(name)
            await until(pilot, lambda cls=cls: isinstance(app.screen, cls), name)
            await open_help_on(pilot, app, cls)


async def test_read_only_help_marks_the_write_keys(frozen_sim, make_settings):
    app = DtleApp(make_settings(frozen_sim, "--read-only"))
    async with app.run_test(size=(120, 40)) as pilot:
        await select(pilot, app, "job1")
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), "help")
        lines = help_lines(app)
        assert "d delete (stop) the job — refused: read-only" in lines
        assert "o sort by the next column, then back to attention order (or click a header)" in lines


async def test_keys_table_remaps_by_id(sim, make_settings, tmp_path):
    config = tmp_path / "keys.toml"
    config.write_text('[keys]\n"dtle.job.delete" = "D"\n"dtle.app.help" = "f1"\n"dtle.table.down" = "j,down"\n',
                      encoding="utf-8")
    app = DtleApp(make_settings(sim, "--config", str(config)))
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await select(pilot, app, "job1")
        rows = screen.table.row_keys
        await pilot.press("j")  # a table key remapped: vi's j moves the cursor, down still does
        await until(pilot, lambda: screen.current_job_id() == rows[rows.index("job1") + 1], "the cursor on j")
        await pilot.press("up")
        await until(pilot, lambda: screen.current_job_id() == "job1", "back up")
        shown = {b.binding.id: b.binding.key for b in screen.active_bindings.values()}
        assert shown["dtle.job.delete"] == "D" and shown["dtle.app.help"] == "f1"
        await pilot.press("d")  # the old key does nothing any more
        await pilot.press("question_mark")
        await pilot.pause(0.2)
        assert app.screen is screen
        await pilot.press("f1")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), "help on f1")
        assert "D delete (stop) the job" in help_lines(app)
        assert "f1 every key of this screen" in help_lines(app)
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is screen, "help closed")
        await pilot.press("D")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the delete dialog on D")
        await pilot.press("escape")
    assert nomad_writes(sim) == []


@pytest.mark.parametrize("entry", ['"dtle.jobs.delete" = "D"', '"dtle.job.delete" = "ctl+d"'])
def test_a_bad_remap_stops_start_up_with_one_line(tmp_path, entry):
    from tests.e2e.test_cli import run

    config = tmp_path / "keys.toml"
    config.write_text(f"[keys]\n{entry}\n", encoding="utf-8")
    for argv in ((), ("--show-config",)):
        result = run("--config", str(config), *argv, home=tmp_path)
        assert result.returncode == 2 and result.stdout == ""
        assert len(result.stderr.splitlines()) == 1 and result.stderr.startswith("dtle-tui: error: "), result.stderr
        assert "dtle.j" in result.stderr


def test_show_config_lists_the_remaps(tmp_path):
    from tests.e2e.test_cli import run

    config = tmp_path / "keys.toml"
    config.write_text('[keys]\n"dtle.job.delete" = "D"\n', encoding="utf-8")
    result = run("--config", str(config), "--show-config", home=tmp_path)
    assert result.returncode == 0, result.stderr
    row = next(line for line in result.stdout.splitlines() if line.startswith("keys.dtle.job.delete"))
    assert row.split()[1] == "D" and "[keys]" in row
