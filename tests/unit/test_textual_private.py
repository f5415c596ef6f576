"""The fence around Textual's private API (dtle_tui/textual_private.py): each name it reaches into must
still exist on Textual's App and be the same kind of thing. A Textual upgrade that moves one fails here,
by name, instead of in an operator's crash report."""

from __future__ import annotations

import ast
import inspect
import re
from importlib.metadata import version

import pytest
from textual.app import App
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widget import Widget

from dtle_tui.textual_private import PRIVATE_NAMES, PRIVATE_SCREEN_NAMES
from tests.helpers.paths import ROOT


@pytest.fixture(scope="module")
def app() -> App:
    return App()  # constructed, never run: App.__init__ sets every instance attribute used


@pytest.mark.parametrize("name,kind", sorted(PRIVATE_NAMES.items()))
def test_private_name_is_still_there_and_the_same_kind(app, name, kind):
    textual = version("textual")
    assert hasattr(app, name), f"Textual {textual} has no App.{name} any more: see dtle_tui/textual_private.py"
    value = getattr(app, name)
    if kind == "method":
        assert inspect.isfunction(getattr(App, name, None)), f"App.{name} is no longer a method (Textual {textual})"
        required = [p for p in list(inspect.signature(getattr(App, name)).parameters.values())[1:]
                    if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
        expected = {"_display": 2}.get(name, 0)
        assert len(required) == expected, f"App.{name} takes other arguments now (Textual {textual})"
    elif kind == "list":
        assert isinstance(value, list), f"App.{name} is no longer a list (Textual {textual})"
    else:
        assert not callable(value) or name == "_notifications", f"App.{name} changed kind (Textual {textual})"


@pytest.mark.parametrize("name,kind", sorted(PRIVATE_SCREEN_NAMES.items()))
def test_private_screen_name_is_still_there(name, kind):
    screen = Screen()  # constructed, never run: Screen.__init__ sets every instance attribute used
    assert kind == "attribute" and hasattr(screen, name), \
        f"Textual {version('textual')} has no Screen.{name} any more: see dtle_tui/textual_private.py"
    assert not callable(getattr(screen, name))


def test_the_crash_override_still_replaces_textuals():
    """QuietCrash only works while Textual calls _fatal_error on an unhandled exception."""
    source = inspect.getsource(App._handle_exception)
    assert "_fatal_error" in source


def test_textual_is_the_pinned_major_version():
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    installed = tuple(int(x) for x in version("textual").split(".")[:2])
    spec = next(line for line in pyproject.splitlines() if line.strip().startswith('"textual'))
    low = tuple(int(x) for x in spec.split(">=")[1].split(",")[0].split("."))
    high = int(spec.split(",<")[1].split('"')[0].split(".")[0])
    assert low <= installed and installed[0] < high, f"textual {installed} outside the pin {spec.strip()}"


def private_attributes(path) -> list:
    """`x._name` reads on objects other than self/cls: the uses the fence is for."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
            owner = node.value
            if isinstance(owner, ast.Name) and owner.id in ("self", "cls"):
                continue
            found.append(f"{path.name}:{node.lineno} .{node.attr}")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("getattr", "setattr") \
                and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant) \
                and str(node.args[1].value).startswith("_") \
                and not (isinstance(node.args[0], ast.Name) and node.args[0].id in ("self", "cls")):
            found.append(f"{path.name}:{node.lineno} {node.func.id}(…, {node.args[1].value!r})")
    return found


def test_no_private_textual_use_outside_the_fence():
    """The UI's modules reach no `._private` attribute of another object (Textual's, mostly); only
    textual_private.py does. `self._x` (a class's own state) is fine."""
    ui = [ROOT / "dtle_tui" / name for name in ("app.py", "console.py", "intents.py", "keys.py", "clipboard.py",
                                                "notify.py")]
    ui += sorted((ROOT / "dtle_tui" / "screens").glob("*.py")) + sorted((ROOT / "dtle_tui" / "widgets").glob("*.py"))
    found = [hit for path in ui for hit in private_attributes(path)]
    assert not found, found


def textual_private_names() -> set:
    """Private names of Textual's App, Screen, Widget and Pilot (class and instance), less those fenced."""
    names: set = set()
    for obj in (App, Screen, Widget, Pilot, App(), Screen(), Widget()):
        names |= {n for n in dir(obj) if n.startswith("_") and not n.startswith("__")}
    return names - set(PRIVATE_NAMES) - set(PRIVATE_SCREEN_NAMES)


# What holds a Textual object in the tests: `app`, `app2`, `pilot.app`, `app.screen`, `pilot`, `screen`.
TEXTUAL_OWNER = re.compile(r"(^|\.)(app\w*|screen|pilot)$")


def test_tests_reach_textual_privates_only_through_the_fence():
    """The tests too: Textual's private names are read through dtle_tui/textual_private.py (or are one of
    the names it fences, checked above), never directly, so an upgrade that moves one fails there."""
    private = textual_private_names()
    found = []
    for path in sorted((ROOT / "tests").rglob("*.py")):
        if path.name == "test_textual_private.py":
            continue  # the fence's own check reads Textual's source
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr in private \
                    and TEXTUAL_OWNER.search(ast.unparse(node.value)):
                found.append(f"{path.name}:{node.lineno} {ast.unparse(node)}")
    assert not found, found
