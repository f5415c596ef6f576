"""One key table: each screen's `Binding(..., id=...)`s.

Every screen declares its keys as Textual bindings, each with an ID (`dtle.<where>.<what>`). From those
alone come the footer (Textual's), the help screen (`?`), the command palette (ctrl+p) and the README's
keys table; the config file's `[keys]` table remaps them by ID through Textual's public
`App.set_keymap`. A binding's `description` is its short footer label, its `tooltip` the sentence help
and the palette show.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import partial
from typing import Any, Callable, Iterable, Iterator, Mapping, Optional, Sequence

from textual.actions import parse as parse_action
from textual.app import SystemCommand
from textual.binding import Binding
from textual.dom import DOMNode
from textual.keys import format_key

from dtle_tui.config.settings import ConfigError

# The write actions (screens/job_actions.py): hidden from footer and palette in read-only mode, a press
# still answered with the refusal (audited).
WRITE_ACTIONS = frozenset({"delete_job", "purge_job", "reset_gtid", "restore_gtid", "add_job", "readd_job",
                           # the repair keys (screens/repair_actions.py)
                           "restart_alloc", "stop_alloc", "toggle_eligibility", "drain_node"})

# (module of dtle_tui.screens, class): the screens the poller feeds, in the order the README lists them.
CONSOLE_SCREENS = (
    ("jobs", "JobsScreen"),
    ("job_detail", "JobDetailScreen"),
    ("allocation", "AllocationScreen"),
    ("logs", "LogsScreen"),
    ("nodes", "NodesScreen"),
    ("orphans", "OrphansScreen"),
)
# The tables (dtle_tui.widgets.<module>): their keys work on every screen that shows one.
TABLES = (("virtual_table", "VirtualTable"), ("keyed_table", "KeyedTable"))
# The dialogs: their keys are written in their own text; IDs so that [keys] can remap them too.
MODAL_SCREENS = (
    ("confirm", "ConfirmScreen"),
    ("add_job", "AddJobScreen"),
    ("spec", "SpecScreen"),
    ("contexts", "ContextsScreen"),
    ("pick", "PickScreen"),
    ("help", "HelpScreen"),
)


def screen_classes(which: Sequence[tuple[str, str]] = CONSOLE_SCREENS, package: str = "screens") -> list[type]:
    """The screen (or widget) classes, imported now (the app imports most screens only when first shown)."""
    return [getattr(importlib.import_module(f"dtle_tui.{package}.{module}"), name) for module, name in which]


def bindings_of(cls: type) -> list[Binding]:
    """The bindings instances of `cls` answer, as Textual merges them (a subclass's key replaces every
    binding of its bases for that key; `a,b` is two bindings), the subclass's own first, in their order."""
    claimed: set[str] = set()
    out: list[Binding] = []
    for base in cls.__mro__:
        if not (isinstance(base, type) and issubclass(base, DOMNode) and "BINDINGS" in vars(base)):
            continue
        mine = list(Binding.make_bindings(vars(base)["BINDINGS"]))
        out.extend(b for b in mine if b.key not in claimed and not b.system)
        claimed.update(b.key for b in mine)
    return out


def remapped(bindings: Iterable[Binding], keymap: Mapping[str, str]) -> list[Binding]:
    """`bindings` with the keys `keymap` gives their IDs (what App.set_keymap does to the live ones)."""
    out: list[Binding] = []
    seen: set[str] = set()
    for binding in bindings:
        keys = keymap.get(binding.id or "")
        if not keys:
            out.append(binding)
        elif binding.id not in seen:  # a binding of two default keys remapped: one per new key
            seen.add(binding.id or "")
            out.extend(binding.with_key(key.strip(), key_display=None) for key in keys.split(","))
    return out


def known_ids(app_class: type) -> dict[str, list[str]]:
    """Every binding ID of every screen and the app -> the classes where it works."""
    out: dict[str, list[str]] = {}
    classes = [app_class, *screen_classes(CONSOLE_SCREENS), *screen_classes(MODAL_SCREENS),
               *screen_classes(TABLES, "widgets")]
    for cls in classes:
        for binding in bindings_of(cls):
            if binding.id:
                where = out.setdefault(binding.id, [])
                if cls.__name__ not in where:
                    where.append(cls.__name__)
    return out


def check_keymap(keymap: Mapping[str, str], app_class: type) -> None:
    """ConfigError for a remap of an ID no binding has (the key's form was checked with the file)."""
    known = known_ids(app_class)
    for binding_id in keymap:
        if binding_id not in known:
            close = sorted(k for k in known if k.split(".")[-1] == binding_id.split(".")[-1])
            hint = f" (did you mean {', '.join(close)}?)" if close else " (no key of any screen has this ID)"
            raise ConfigError(f"[keys]: unknown binding ID {binding_id!r}{hint}")


# ---- help and README ------------------------------------------------------------------------------
@dataclass(frozen=True)
class KeyLine:
    """One line of help: the keys of one binding (or of bindings sharing an ID) and what they do."""

    keys: tuple[str, ...]
    text: str
    action: str
    binding_id: Optional[str]

    @property
    def writes(self) -> bool:
        return self.action in WRITE_ACTIONS


def key_lines(bindings: Iterable[Binding], display: Callable[[Binding], str]) -> list[KeyLine]:
    """Bindings grouped per ID (per action and text without one), in declaration order."""
    groups: dict[tuple, list[Binding]] = {}
    for binding in bindings:
        text = binding.tooltip or binding.description or binding.action
        groups.setdefault((binding.id or "", binding.action, text), []).append(binding)
    lines = []
    for (binding_id, action, text), members in groups.items():
        keys = tuple(dict.fromkeys(display(b) for b in members))
        lines.append(KeyLine(keys, text, action, binding_id or None))
    return lines


def palette_commands(app: Any, node: Any, bindings: Iterable[Binding], where: str) -> Iterator[SystemCommand]:
    """One palette command per key line of `node` (a screen, or the app): what its key would do, now.
    Left out: what the key would not do here (check_action False) and, read-only, the write actions."""
    read_only = bool(app.settings.read_only)
    for line in key_lines([b for b in bindings if b.id], app.get_key_display):
        if line.action == "command_palette" or (read_only and line.writes):
            continue
        _, name, params = parse_action(line.action)
        if node.check_action(name, params) is False:
            continue
        title = line.text[:1].upper() + line.text[1:]
        yield SystemCommand(title, f"{where}: {' / '.join(line.keys)}", partial(app.run_action, line.action, node))


def readme_key(key: str) -> str:
    """A key as the README writes it: `?` for question_mark, `/` for slash; `ctrl+r`, `space` as they are."""
    shown = format_key(key) if "+" not in key else key
    return shown if len(shown) == 1 and shown.isascii() and not shown.isspace() else key


def readme_table(app_class: type) -> str:
    """The README's keys table, generated from the bindings (a test compares it with README.md)."""
    rows: dict[tuple[str, str, str], list[str]] = {}
    order = [("anywhere", app_class)] + [(cls.KEYS_TITLE, cls) for cls in screen_classes(CONSOLE_SCREENS)]
    order += [("every table", cls) for cls in screen_classes(TABLES, "widgets")]
    for where, cls in order:
        for line in key_lines([b for b in bindings_of(cls) if b.id], lambda b: readme_key(b.key)):
            places = rows.setdefault((" ".join(f"`{k}`" for k in line.keys), line.text, line.binding_id or ""), [])
            if where not in places:
                places.append(where)
    out = ["| key | where | what | ID for `[keys]` |", "|---|---|---|---|"]
    for (keys, text, binding_id), places in rows.items():
        out.append(f"| {keys.replace('`|`', '`&#124;`')} | {', '.join(places)} | {text} | `{binding_id}` |")
    return "\n".join(out)
