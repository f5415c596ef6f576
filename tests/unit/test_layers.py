"""The house in layers: which package may import which, no import circles, nothing of Textual below the UI.

Read from the source with `ast` (function-local and TYPE_CHECKING imports included), so a lazy import
cannot hide a circle or a layer breach. Loads by name count too: in a module that calls
`importlib.import_module` or `__import__`, every string naming one of our modules is an import of it
(app.py's table of lazily loaded screens), so a circle through such a table is seen as well.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.helpers.paths import ROOT

PACKAGE = ROOT / "dtle_tui"

# Rank of each layer: a module may import its own layer and lower ones only. The simulator stands apart.
RANKS = {
    "tuning": 0,  # the garbage collector's settings: the standard library only, used from api/ up to the CLI
    "text": 0,
    "config": 1,
    "model": 2,
    "api": 3,
    "live": 4,
    "ops": 4,
    "ui": 5,  # app, console, intents, screens, widgets, keys, clipboard, notify, textual_private
    "cli": 6,  # __main__, cli: the entry point
}
# Below the UI nothing may import these (rich is Textual's renderer: at import time it costs the first paint
# and ties the core to a terminal).
UI_ONLY = ("textual", "rich")


def layer_of(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1:
        return "cli"  # the package itself: __version__ only
    first = parts[1]
    if first in ("cli", "__main__"):
        return "cli"
    if first in ("app", "console", "intents", "screens", "widgets", "keys", "clipboard", "notify",
                 "textual_private"):
        return "ui"
    if first == "sim":
        return "sim"
    return first


def modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        name = ".".join(rel.parts)
        if name.endswith(".__init__"):
            name = name[: -len(".__init__")]
        out[name] = path
    return out


def loads_by_name(tree: ast.AST, known: set[str]) -> list[tuple[str, int]]:
    """(module, line) of every string naming one of our modules, in a module that imports by name."""
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and (
        (isinstance(n.func, ast.Attribute) and n.func.attr == "import_module")
        or (isinstance(n.func, ast.Name) and n.func.id in ("__import__", "import_module")))]
    if not calls:
        return []
    return [(n.value, n.lineno) for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and n.value in known]


def imports_of(name: str, path: Path, known: set[str]) -> list[tuple[str, int, bool]]:
    """(imported module, line, at module level) for every import in the file, resolved to a known module;
    loads by name (loads_by_name) count as imports not at module level."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_pkg = path.name == "__init__.py"
    top_level = {id(n) for n in tree.body}
    # TYPE_CHECKING blocks at the top count as top-level imports for circles, but not for the rich rule.
    for node in tree.body:
        if isinstance(node, ast.If):
            top_level.update(id(n) for n in node.body)
    out = []
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                pkg = name.split(".") if is_pkg else name.split(".")[:-1]
                pkg = pkg[: len(pkg) - (node.level - 1)]
                base = ".".join(pkg + ([base] if base else []))
            targets = [base]
            # `from pkg import module` imports the module
            targets += [f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in known]
        for t in targets:
            out.append((t, node.lineno, id(node) in top_level))
    out += [(module, line, False) for module, line in loads_by_name(tree, known)]
    return out


def graph() -> dict[str, set[str]]:
    mods = modules()
    known = set(mods)
    g: dict[str, set[str]] = {}
    for name, path in mods.items():
        g[name] = set()
        for target, _line, _top in imports_of(name, path, known):
            if target in known and target != name and not name.startswith(target + "."):
                g[name].add(target)
    return g


def test_no_import_circles() -> None:
    g = graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(g[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                circles.append(sorted(comp))

    for v in sorted(g):
        if v not in index:
            visit(v)
    assert circles == [], f"modules that import each other, directly or in a loop: {circles}"


def test_lower_layers_never_import_higher_ones() -> None:
    breaches = []
    for name, targets in graph().items():
        src = layer_of(name)
        for target in targets:
            dst = layer_of(target)
            if target == "dtle_tui":
                continue
            if src == "sim" or dst == "sim":
                if dst == "sim" and src not in ("sim", "cli"):
                    breaches.append(f"{name} -> {target} (only the CLI starts the simulator)")
                if src == "sim" and dst not in ("sim", "text", "model"):
                    breaches.append(f"{name} -> {target} (the simulator must not lean on the client it tests)")
                continue
            if RANKS[dst] > RANKS[src]:
                breaches.append(f"{name} ({src}) -> {target} ({dst})")
    assert breaches == [], "a lower layer imports a higher one:\n" + "\n".join(sorted(breaches))


def test_nothing_below_the_ui_imports_textual_or_rich() -> None:
    mods = modules()
    known = set(mods)
    breaches = []
    for name, path in mods.items():
        layer = layer_of(name)
        if layer in ("ui", "cli"):
            continue
        for target, line, top in imports_of(name, path, known):
            root = target.split(".")[0]
            if root == "textual" or (root == "rich" and top):
                breaches.append(f"{path.relative_to(PACKAGE.parent)}:{line} imports {target}")
    assert breaches == [], "\n".join(breaches)


@pytest.mark.parametrize("limit", [450])
def test_modules_are_small(limit: int) -> None:
    big = {
        str(p.relative_to(PACKAGE.parent)): n
        for p in PACKAGE.rglob("*.py")
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > limit
    }
    assert big == {}, f"modules over {limit} lines (holding two ideas?): {big}"


def test_at_most_twelve_modules_at_the_top() -> None:
    top = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(top) <= 12, top


def test_the_layer_test_sees_a_circle_and_a_breach(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The checks above can fail: a planted circle and a planted breach are found."""
    pkg = tmp_path / "dtle_tui"
    (pkg / "model").mkdir(parents=True)
    (pkg / "live").mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "model" / "__init__.py").write_text("")
    (pkg / "live" / "__init__.py").write_text("")
    (pkg / "model" / "a.py").write_text("def f():\n    from dtle_tui.live import b\n")
    (pkg / "live" / "b.py").write_text("from dtle_tui.model import a\nimport textual\n")
    monkeypatch.setattr(__import__(__name__, fromlist=["PACKAGE"]), "PACKAGE", pkg)
    with pytest.raises(AssertionError, match="dtle_tui.live.b"):
        test_no_import_circles()
    with pytest.raises(AssertionError, match="dtle_tui.model.a"):
        test_lower_layers_never_import_higher_ones()
    with pytest.raises(AssertionError, match="textual"):
        test_nothing_below_the_ui_imports_textual_or_rich()


def test_the_layer_test_sees_a_circle_through_a_load_by_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A table of modules loaded by name (as app.py's) is an import of each: a screen that imports the
    module holding the table closes a circle, and the test says so."""
    pkg = tmp_path / "dtle_tui"
    (pkg / "screens").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "screens" / "__init__.py").write_text("")
    (pkg / "app.py").write_text('import importlib\nTABLE = {"d": "dtle_tui.screens.detail"}\n'
                                'def load(n):\n    return importlib.import_module(TABLE[n])\n')
    (pkg / "screens" / "detail.py").write_text("from dtle_tui import app\n")
    monkeypatch.setattr(__import__(__name__, fromlist=["PACKAGE"]), "PACKAGE", pkg)
    assert "dtle_tui.screens.detail" in graph()["dtle_tui.app"]
    with pytest.raises(AssertionError, match="dtle_tui.screens.detail"):
        test_no_import_circles()


def test_our_loads_by_name_are_seen() -> None:
    """app.py's table is read: the app reaches the screens it loads later, and nothing else loads by name."""
    g = graph()
    assert {"dtle_tui.screens.job_detail", "dtle_tui.screens.help", "dtle_tui.intents"} <= g["dtle_tui.app"]
    mods = modules()
    by_name = {name for name, path in mods.items() if not name.startswith("dtle_tui.sim")
               and loads_by_name(ast.parse(path.read_text(encoding="utf-8")), set(mods))}
    assert by_name == {"dtle_tui.app"}
