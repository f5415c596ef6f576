"""One key table: each screen's `Binding(..., id=...)`s, and the write keys marked where they are declared.

Every screen declares its keys as Textual bindings, each with an ID (`dtle.<where>.<what>`). From those
alone come the footer (Textual's), the help screen (`?`), the command palette (ctrl+p) and the README's
keys table; the config file's `[keys]` table remaps them by ID through Textual's public
`App.set_keymap`. A binding's `description` is its short footer label, its `tooltip` the sentence help
and the palette show.

A key that changes the cluster is declared with `write_key` (k9s marks such actions `Dangerous`): its
action is `write('<name>')`, `<name>` being the write's name in the audit log. That action string is the
one mark: every write key runs ConsoleScreen.action_write (which refuses it in read-only mode, before any
connection), and the footer, the palette, help and the audit line read it. No list of write actions to
keep in step: a key declared with write_key is one.

The screens themselves are not imported here (screens/base.py imports this module): whoever asks for the
key table hands the classes in (DtleApp.binding_classes, from app.py's table of lazily loaded screens).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any, Callable, Iterable, Iterator, Mapping, Optional

from textual.actions import parse as parse_action
from textual.app import SystemCommand
from textual.binding import Binding
from textual.dom import DOMNode
from textual.keys import format_key

from dtle_tui.config.settings import ConfigError

WRITE_PREFIX = "write("


def write_key(key: str, name: str, description: str, *, tooltip: str, id: str, show: bool = True) -> Binding:
    """A key that changes the cluster: its action `write('<name>')` is the mark (see the module docstring)."""
    return Binding(key, f"write({name!r})", description, show=show, tooltip=tooltip, id=id)


def writes(action: str) -> bool:
    """The binding's action is a write key's (write_key)."""
    return action.startswith(WRITE_PREFIX)


def write_name(action: str) -> str:
    """`delete` of `write('delete')`."""
    return action[len(WRITE_PREFIX):].rstrip(")").strip("'\"")


def job_writes(without: tuple[str, ...] = ()) -> list[Binding]:
    """The write keys on a job, one ID each whatever the screen (`[keys]` remaps them on Jobs and Job detail
    alike). `without`: writes a screen leaves out (Job detail has no `a`)."""
    bindings = [
        write_key("d", "delete", "Delete", tooltip="delete (stop) the job", id="dtle.job.delete"),
        write_key("P", "purge", "Purge", tooltip="purge the job (removed from Nomad at once)", id="dtle.job.purge"),
        write_key("G", "reset-gtid", "Gtid reset", tooltip="reset the job's Gtid in Consul", id="dtle.job.reset_gtid"),
        write_key("U", "restore-gtid", "Restore Gtid", show=False, tooltip="restore the job's last Gtid backup",
                  id="dtle.job.restore_gtid"),
        # In help and the palette; the footer keeps its room for the keys used most.
        write_key("a", "add", "Add", show=False, tooltip="add a job from a job.json file", id="dtle.job.add"),
        write_key("R", "re-add", "Re-add", show=False, tooltip="re-add a deleted or purged job from its saved spec",
                  id="dtle.job.readd"),
    ]
    return [b for b in bindings if write_name(b.action) not in without]


# On an allocation (Allocation, and Job detail's selected one). One ID on both screens: one remap covers both.
ALLOC_WRITES = [
    write_key("r", "restart", "Restart", tooltip="restart the (selected) allocation's task(s) in place",
              id="dtle.alloc.restart"),
    write_key("K", "stop-alloc", "Stop alloc", tooltip="stop the (selected) allocation so Nomad reschedules it",
              id="dtle.alloc.stop"),
]
# On the selected node (Nodes).
NODE_WRITES = [
    write_key("e", "node-eligibility", "Eligibility", tooltip="toggle the selected node's scheduling eligibility",
              id="dtle.nodes.eligibility"),
    write_key("D", "node-drain", "Drain", tooltip="drain the node with a deadline, or stop its running drain",
              id="dtle.nodes.drain"),
]


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


def known_ids(app_class: Any) -> dict[str, list[str]]:
    """Every binding ID of the app, its screens, dialogs and tables (`app_class.binding_classes()`) -> the classes
    where it works."""
    out: dict[str, list[str]] = {}
    for cls in app_class.binding_classes():
        for binding in bindings_of(cls):
            if binding.id:
                where = out.setdefault(binding.id, [])
                if cls.__name__ not in where:
                    where.append(cls.__name__)
    return out


def check_keymap(keymap: Mapping[str, str], app_class: Any) -> None:
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
        return writes(self.action)


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
        offers = getattr(node, "offers", None)  # a repair Nomad would refuse here (screens/base.py)
        if offers is not None and not offers(line.action):
            continue
        title = line.text[:1].upper() + line.text[1:]
        yield SystemCommand(title, f"{where}: {' / '.join(line.keys)}", partial(app.run_action, line.action, node))


def readme_key(key: str) -> str:
    """A key as the README writes it: `?` for question_mark, `/` for slash; `ctrl+r`, `space` as they are."""
    shown = format_key(key) if "+" not in key else key
    return shown if len(shown) == 1 and shown.isascii() and not shown.isspace() else key


def readme_table(app_class: Any) -> str:
    """The README's keys table, generated from the bindings of the app, its console screens (in the order
    the README lists them) and its tables (a test compares it with README.md)."""
    rows: dict[tuple[str, str, str], list[str]] = {}
    order = [("anywhere", app_class)] + [(cls.KEYS_TITLE, cls) for cls in app_class.console_screen_classes()]
    order += [("every table", cls) for cls in app_class.table_classes()]
    for where, cls in order:
        for line in key_lines([b for b in bindings_of(cls) if b.id], lambda b: readme_key(b.key)):
            places = rows.setdefault((" ".join(f"`{k}`" for k in line.keys), line.text, line.binding_id or ""), [])
            if where not in places:
                places.append(where)
    out = ["| key | where | what | ID for `[keys]` |", "|---|---|---|---|"]
    for (keys, text, binding_id), places in rows.items():
        out.append(f"| {keys.replace('`|`', '`&#124;`')} | {', '.join(places)} | {text} | `{binding_id}` |")
    return "\n".join(out)
