"""The optional TOML config file: top-level defaults and named contexts (one per cluster).

```toml
default_context = "staging"
refresh = 2.0

[contexts.prod]
nomad_addr = "https://nomad.prod:4646"
consul_addr = "https://consul.prod:8500"
nomad_token_file = "~/.config/dtle-tui/prod.nomad-token"
read_only = true
color = "red"

[keys]                      # remaps by binding ID (config/keymap.py)
"dtle.jobs.delete" = "D"
```

Tokens never live in this file (a config file gets copied, shared and committed); a context names the
environment variable (`nomad_token_env`) or the file (`nomad_token_file`) that holds one. Every
mistake is reported with the key and its line, because the operator has to go and fix it.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from dtle_tui.config.keymap import parse_keys_table


class ConfigError(Exception):
    """A setting that cannot be used; the message is one line for the operator."""


_NUM = (int, float)
# key -> (accepted types, setting name it feeds). Setting names are the keys of Settings.sources.
TOP_LEVEL = {
    "default_context": (str, "context"),
    "read_only": (bool, "read_only"),
    "refresh": (_NUM, "refresh"),
    "timeout": (_NUM, "timeout"),
    "theme": (str, "theme"),
    "stall_threshold": (_NUM, "stall_threshold_s"),
    "log_file": (str, "log_file"),
    "log_lines": (int, "log_lines"),
    "notify": (bool, "notify"),
    "dtle_api": (str, "dtle_api"),
    "send_nomad_token_to_dtle": (bool, "dtle_api_nomad_token"),
}
CONTEXT_KEYS = {
    "nomad_addr": (str, "nomad.addr"),
    "consul_addr": (str, "consul.addr"),
    "namespace": (str, "nomad.namespace"),
    "region": (str, "nomad.region"),
    "nomad_token_env": (str, "nomad.token"),
    "nomad_token_file": (str, "nomad.token"),
    "consul_token_env": (str, "consul.token"),
    "consul_token_file": (str, "consul.token"),
    "read_only": (bool, "read_only"),
    "refresh": (_NUM, "refresh"),
    "timeout": (_NUM, "timeout"),
    "theme": (str, "theme"),
    "stall_threshold": (_NUM, "stall_threshold_s"),
    "color": (str, "context_color"),
    "description": (str, None),
    "consul_ssl": (bool, "consul.ssl"),
    "notify": (bool, "notify"),
    "dtle_api": (str, "dtle_api"),
    "send_nomad_token_to_dtle": (bool, "dtle_api_nomad_token"),
}
for _svc in ("nomad", "consul"):
    CONTEXT_KEYS.update(
        {
            f"{_svc}_cacert": (str, f"{_svc}.tls.ca_cert"),
            f"{_svc}_capath": (str, f"{_svc}.tls.ca_path"),
            f"{_svc}_client_cert": (str, f"{_svc}.tls.client_cert"),
            f"{_svc}_client_key": (str, f"{_svc}.tls.client_key"),
            f"{_svc}_skip_verify": (bool, f"{_svc}.tls.verify"),
            f"{_svc}_tls_server_name": (str, f"{_svc}.tls.server_name"),
        }
    )
_SECRET_KEYS = re.compile(r"(^|_)(token|secret|password|http_auth)$")


@dataclass(frozen=True)
class Context:
    """One `[contexts.<name>]` table, as the context switcher lists it."""

    name: str
    nomad_addr: Optional[str]
    consul_addr: Optional[str]
    namespace: Optional[str]
    region: Optional[str]
    read_only: Optional[bool]
    color: Optional[str]
    description: Optional[str]
    is_default: bool
    line: int


@dataclass(frozen=True)
class ConfigFile:
    path: Path
    top: dict  # validated top-level values
    contexts: dict  # name -> validated table
    text: str
    keys: dict = field(default_factory=dict)  # [keys]: binding id -> "key[,key…]"

    def line_of(self, key: str, context: Optional[str] = None) -> int:
        return find_line(self.text, key, context)

    def where(self, key: str, context: Optional[str] = None) -> str:
        line = self.line_of(key, context)
        return f"{self.path}" + (f" line {line}" if line else "")


def _type_name(types: Any) -> str:
    if types is _NUM:
        return "a number"
    return {bool: "true or false", str: "a string", int: "an integer"}.get(types, "a table")


def _table_header(context: str) -> re.Pattern:
    name = re.escape(context)
    return re.compile(rf"^\s*\[\s*contexts\s*\.\s*(?:{name}|\"{name}\"|'{name}')\s*\]")


def find_line(text: str, key: str, context: Optional[str] = None) -> int:
    """1-based line of `key` (in `[contexts.<context>]` when given); 0 when it cannot be found."""
    lines = text.splitlines()
    key_re = re.compile(rf"^\s*(?:[\"']?{re.escape(key)}[\"']?)\s*=")
    if context is None:
        for number, line in enumerate(lines, 1):
            if re.match(r"^\s*\[", line):
                break
            if key_re.match(line):
                return number
    else:
        header = _table_header(context)
        inside = False
        for number, line in enumerate(lines, 1):
            if header.match(line):
                inside = True
                if key == "":
                    return number
                continue
            if inside and re.match(r"^\s*\[", line):
                inside = False
            if inside and key_re.match(line):
                return number
    # Dotted keys (contexts.prod.refresh = 1) and inline tables: first mention anywhere.
    loose = re.compile(rf"(^|[\s.{{,\"'])[\"']?{re.escape(key)}[\"']?\s*=")
    for number, line in enumerate(lines, 1):
        if key and loose.search(line) and (context is None or context in line or key_re.match(line)):
            return number
    return 0


def _check(value: Any, types: Any) -> bool:
    if isinstance(value, bool):
        return types is bool
    return isinstance(value, types) if types is not bool else False


def read_config_file(path: Path) -> Optional[ConfigFile]:
    """Parse and validate; None when the file does not exist. ConfigError for anything wrong."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from None
    text = raw.decode("utf-8", "replace")
    # Imported only when there is a file to read: most start-ups have none (first paint).
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on 3.9/3.10 only
        import tomli as tomllib
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path}: {exc}") from None
    cfg = ConfigFile(path, {}, {}, text)
    _read_top(cfg, data)
    _read_contexts(cfg, data.get("contexts") or {})
    if "keys" in data:
        _read_keys(cfg, data["keys"])
    default = cfg.top.get("default_context")
    if default is not None and default not in cfg.contexts:
        raise _fail(cfg, "default_context", None, f"no [contexts.{default}] table in this file")
    return cfg


def _fail(cfg: ConfigFile, key: str, context: Optional[str], why: str) -> ConfigError:
    name = f"contexts.{context}.{key}" if context is not None else key
    return ConfigError(f"{cfg.where(key, context)}: {name}: {why}")


def _read_top(cfg: ConfigFile, data: dict) -> None:
    for key, value in data.items():
        if key in ("contexts", "keys"):
            if not isinstance(value, dict):
                why = "must be a table of [contexts.<name>] tables" if key == "contexts" else \
                    'must be a table: [keys] with "binding.id" = "key" lines'
                raise _fail(cfg, key, None, why)
            continue
        if _SECRET_KEYS.search(key):
            raise _fail(cfg, key, None, _secret_message(key))
        if key not in TOP_LEVEL:
            known = ", ".join(sorted(TOP_LEVEL))
            raise _fail(cfg, key, None, f"unknown key (known: {known}, [contexts.<name>], [keys])")
        if not _check(value, TOP_LEVEL[key][0]):
            raise _fail(cfg, key, None, f"must be {_type_name(TOP_LEVEL[key][0])}, not {type(value).__name__}")
        cfg.top[key] = value


def _read_contexts(cfg: ConfigFile, contexts: dict) -> None:
    for name, table in contexts.items():
        if not isinstance(table, dict):
            raise _fail(cfg, name, None, "a context must be a table: [contexts.<name>]")
        for key, value in table.items():
            if _SECRET_KEYS.search(key):
                raise _fail(cfg, key, name, _secret_message(key))
            if key not in CONTEXT_KEYS:
                raise _fail(cfg, key, name, f"unknown key (known: {', '.join(sorted(CONTEXT_KEYS))})")
            if not _check(value, CONTEXT_KEYS[key][0]):
                raise _fail(cfg, key, name, f"must be {_type_name(CONTEXT_KEYS[key][0])}, not {type(value).__name__}")
        for service in ("nomad", "consul"):
            if f"{service}_token_env" in table and f"{service}_token_file" in table:
                raise _fail(cfg, f"{service}_token_file", name,
                            f"set {service}_token_env or {service}_token_file, not both")
        cfg.contexts[name] = dict(table)


def _read_keys(cfg: ConfigFile, table: Any) -> None:
    """The top-level [keys] table (key remaps by binding ID); IDs are checked against the screens later."""
    try:
        cfg.keys.update(parse_keys_table(table))
    except ValueError as exc:
        line = find_table_line(cfg.text, "keys")
        raise ConfigError(f"{cfg.path}" + (f" line {line}" if line else "") + f": [keys] {exc}") from None


def find_table_line(text: str, table: str) -> int:
    """1-based line of the `[table]` header; 0 when absent (e.g. an inline table)."""
    header = re.compile(rf"^\s*\[\s*{re.escape(table)}\s*\]")
    return next((n for n, line in enumerate(text.splitlines(), 1) if header.match(line)), 0)


def _secret_message(key: str) -> str:
    service = "consul" if key.startswith("consul") else "nomad"
    return (
        f"secrets are never stored in the config file (it gets copied and shared); "
        f"use {service}_token_env (an environment variable name) or {service}_token_file"
    )


def contexts_of(cfg: Optional[ConfigFile]) -> list:
    if cfg is None:
        return []
    default = cfg.top.get("default_context")
    out = []
    for name, table in cfg.contexts.items():
        out.append(
            Context(
                name=name,
                nomad_addr=table.get("nomad_addr"),
                consul_addr=table.get("consul_addr"),
                namespace=table.get("namespace"),
                region=table.get("region"),
                read_only=table.get("read_only"),
                color=table.get("color"),
                description=table.get("description"),
                is_default=name == default,
                line=cfg.line_of("", name),
            )
        )
    return out


def list_contexts(config_path: Path) -> list:
    """Every context in the config file, in file order (empty when there is no file)."""
    return contexts_of(read_config_file(Path(config_path).expanduser()))
