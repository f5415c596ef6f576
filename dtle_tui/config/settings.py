"""Settings, and which source wins.

The cluster (every `nomad.*` and `consul.*` setting: addresses, region, namespace, tokens, TLS) comes
from one place, so that what the banner names is what the console talks to:
- a context chosen explicitly (`--context`, `DTLE_TUI_CONTEXT`, `C` in the app) decides it: its values,
  then the command line's flags (an address that disagrees with the context's is refused, naming both),
  then defaults. NOMAD_* / CONSUL_* are not read: a stale export on a bastion must not send the data,
  the writes or a token to another cluster. A context names the variables it wants (`nomad_token_env`).
  After `C`, the start-up flags no longer count for the cluster either: they were for the first one.
- the config file's `default_context` decides it the same way, unless a flag or the environment names an
  address (`--nomad-addr`, NOMAD_ADDR, …): then no context is in force and the banner names none.
- without a context: flags > environment > defaults. The environment is read exactly as the `nomad`
  and `consul` CLIs read it (nomad-api.md §7, consul-kv.md §6).
Everything else (refresh, read-only, theme, …): flags > environment > context > config file > defaults.

Tokens come from the environment or from files only, never from flags (they would show in `ps`) nor
the config file. `Settings.sources` says where every value came from and `Settings.notes` what was set
but not used; `--show-config` prints both.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence, Tuple

from dtle_tui.config.file import ConfigError, Context, contexts_of, list_contexts, read_config_file
from dtle_tui.config.sources import (
    DEFAULT_CONSUL_ADDR,
    DEFAULT_NOMAD_ADDR,
    Lazy,
    build_parser,
    env_layer,
    expand,
    file_layer,
    flag_layer,
    parse_addr,
    parse_dtle_api,
)

__all__ = [
    "ConfigError",
    "ConsulSettings",
    "Context",
    "NomadSettings",
    "Settings",
    "TlsSettings",
    "build_parser",
    "cluster_rule",
    "demo_settings",
    "demo_state_dir",
    "describe_settings",
    "list_contexts",
    "load_settings",
    "settings_for_context",
]


@dataclass(frozen=True)
class TlsSettings:
    ca_cert: Optional[str] = None
    ca_path: Optional[str] = None
    client_cert: Optional[str] = None
    client_key: Optional[str] = None
    verify: bool = True
    server_name: Optional[str] = None


@dataclass(frozen=True)
class NomadSettings:
    addr: str = DEFAULT_NOMAD_ADDR
    token: Optional[str] = field(default=None, repr=False)
    region: Optional[str] = None
    namespace: Optional[str] = None
    http_auth: Optional[Tuple[str, str]] = field(default=None, repr=False)
    tls: TlsSettings = field(default_factory=TlsSettings)


@dataclass(frozen=True)
class ConsulSettings:
    addr: str = "http://" + DEFAULT_CONSUL_ADDR  # always with a scheme
    token: Optional[str] = field(default=None, repr=False)
    http_auth: Optional[Tuple[str, str]] = field(default=None, repr=False)
    tls: TlsSettings = field(default_factory=TlsSettings)


@dataclass(frozen=True)
class Settings:
    nomad: NomadSettings = field(default_factory=NomadSettings)
    consul: ConsulSettings = field(default_factory=ConsulSettings)
    read_only: bool = False
    refresh: float = 2.0
    timeout: float = 10.0
    theme: Optional[str] = None
    log_file: Path = field(default_factory=lambda: Path.home() / ".local/state/dtle-tui/dtle-tui.log")
    state_dir: Path = field(default_factory=lambda: Path.home() / ".local/state/dtle-tui")
    config_dir: Path = field(default_factory=lambda: Path.home() / ".config/dtle-tui")
    context: Optional[str] = None
    context_color: Optional[str] = None
    demo: bool = False
    demo_dialect: str = "1.1"
    stall_threshold_s: float = 300.0
    log_lines: int = 10000
    notify: bool = False  # alerts on transitions (live/alerts.py), written to the terminal only when on
    # dtle's own API (/v2/monitor/task): None (off), "nodes", "nodes:PORT" or a URL. TLS and timeout are
    # Nomad's; the Nomad token goes along only when dtle_api_nomad_token says so.
    dtle_api: Optional[str] = None
    dtle_api_nomad_token: bool = False
    keys: tuple = ()  # ((binding id, "key[,key…]"), …) from the config file's [keys], for App.set_keymap
    sources: dict = field(default_factory=dict, compare=False)  # setting name -> where it came from
    config_file: Optional[Path] = None  # the file contexts are read from (may not exist)
    notes: tuple = ()  # e.g. "env NOMAD_ADDR overrides nomad_addr of context prod"
    # argv and the relevant environment, kept so settings_for_context can re-resolve. Holds tokens.
    inputs: tuple = field(default=((), ()), repr=False, compare=False)


# ---- resolution ---------------------------------------------------------------------------------------

def load_settings(argv: Sequence[str], environ: Mapping[str, str]) -> Settings:
    """Settings from the command line and environment (and the config file they point to)."""
    return _load(list(argv), environ, switch_to=None)


def settings_for_context(settings: Settings, name: str) -> Settings:
    """The settings after switching to context `name` in the app.

    The operator picked this context: it decides the cluster alone (neither the environment nor the
    start-up flags' addresses, tokens or TLS), and what else it sets wins over flags and environment;
    read-only stays on if it was on. Demo mode ends.
    """
    argv, env = settings.inputs
    new = _load(list(argv), dict(env), switch_to=name)
    if settings.read_only and not new.read_only:
        new = dataclasses.replace(new, read_only=True, sources={**new.sources, "read_only": "kept on from before"})
    return new


def _xdg(environ: Mapping[str, str], var: str, default: str) -> Path:
    value = environ.get(var, "")
    home = Path(environ.get("HOME") or Path.home())
    return Path(value) / "dtle-tui" if value and Path(value).is_absolute() else home / default / "dtle-tui"


def _dirs(environ: Mapping[str, str]) -> Tuple[Path, Path]:
    return _xdg(environ, "XDG_STATE_HOME", ".local/state"), _xdg(environ, "XDG_CONFIG_HOME", ".config")


def demo_state_dir(environ: Mapping[str, str]) -> Path:
    """Where --demo keeps its audit, backups, reports and log: a folder of its own under the user's cache
    ($XDG_CACHE_HOME/dtle-tui/demo), never the state directory, where the real clusters' backups are."""
    return _xdg(environ, "XDG_CACHE_HOME", ".cache") / "demo"


def _load(argv: list, environ: Mapping[str, str], switch_to: Optional[str]) -> Settings:
    ns = build_parser().parse_args(argv)
    state_dir, config_dir = _dirs(environ)
    config_path = Path(expand(ns.config, environ)) if ns.config else config_dir / "config.toml"
    cfg = read_config_file(config_path)
    if cfg is None and ns.config:
        raise ConfigError(f"config file {config_path} does not exist (flag --config)")
    context, context_source = _choose_context(switch_to, ns.context, environ, cfg, config_path)

    flags, env = flag_layer(ns, environ), env_layer(environ)
    notes: list = []
    if context is not None and context_source.startswith("config file"):
        named = [src for layer in (flags, env) for name, (_, src) in layer.items() if name in _ADDRESSES]
        if named:  # the file's default gives way to an address named for this run
            notes.append(f"default_context {context} not used: {', '.join(named)} names the cluster "
                         f"(--context {context} uses the context)")
            context, context_source = None, f"none (default_context {context} not used: {named[0]})"
    ctx_layer = file_layer(cfg, context, environ) if cfg and context else {}
    top_layer = file_layer(cfg, None, environ) if cfg else {}
    if context is not None:
        env = _without_cluster(env, f"context {context} decides the cluster", notes)
        if switch_to:
            flags = _without_cluster(flags, f"switched to context {context}", notes)
        else:
            _check_addresses(flags, ctx_layer, context)
    layers = [ctx_layer, flags, env, top_layer] if switch_to else [flags, env, ctx_layer, top_layer]
    r = _Resolver(layers, ctx_layer, context, environ)
    r.notes.extend(notes)
    r.sources.update(context=context_source, config_file="flag --config" if ns.config else "default")

    nomad, consul = _services(r)
    log_file = r.get("log_file", None)
    log_lines = r.get("log_lines", 10000)
    if not isinstance(log_lines, int) or log_lines < 100:
        raise ConfigError(f"log_lines must be an integer of at least 100, got {log_lines!r} ({r.sources['log_lines']})")
    color = r.get("context_color", None)
    if color is not None:
        _check_color(color, r.sources["context_color"])
    r.sources.update(
        state_dir="env XDG_STATE_HOME" if environ.get("XDG_STATE_HOME") else "default",
        config_dir="env XDG_CONFIG_HOME" if environ.get("XDG_CONFIG_HOME") else "default",
    )
    demo = False if switch_to else bool(r.get("demo", False))
    if demo:  # the simulated cluster's audit and backups never mix with the real clusters'
        state_dir = demo_state_dir(environ)
        r.sources["state_dir"] = "demo: a folder of its own ($XDG_CACHE_HOME/dtle-tui/demo), never $XDG_STATE_HOME"
    dtle_api = r.get("dtle_api", None)
    dtle_api = parse_dtle_api(dtle_api, r.sources["dtle_api"]) if dtle_api is not None else None
    # The whole environment: a context's nomad_token_env / consul_token_env may name any variable, and a
    # switch in the app (settings_for_context) must find it as start-up would have.
    env_kept = tuple(environ.items())
    return Settings(
        nomad=nomad,
        consul=consul,
        read_only=bool(r.get("read_only", False)),
        refresh=r.number("refresh", 2.0, 0.0),
        timeout=r.number("timeout", 10.0, 0.0),
        theme=r.get("theme", None),
        log_file=Path(expand(log_file, environ)) if log_file else state_dir / "dtle-tui.log",
        state_dir=state_dir,
        config_dir=config_dir,
        context=context,
        context_color=color,
        demo=demo,
        demo_dialect=r.get("demo_dialect", "1.1"),
        stall_threshold_s=r.number("stall_threshold_s", 300.0, 0.0),
        log_lines=log_lines,
        notify=bool(r.get("notify", False)),
        dtle_api=dtle_api,
        dtle_api_nomad_token=bool(r.get("dtle_api_nomad_token", False)),
        keys=tuple(sorted(cfg.keys.items())) if cfg else (),
        sources=r.sources,
        config_file=config_path,
        notes=tuple(r.notes),
        inputs=(tuple(argv), env_kept),
    )


_CLUSTER = ("nomad.", "consul.")
_ADDRESSES = ("nomad.addr", "consul.addr")


def _without_cluster(layer: dict, why: str, notes: list) -> dict:
    """`layer` without its cluster settings, each one left out named in `notes` (never its value)."""
    kept = {name: v for name, v in layer.items() if not name.startswith(_CLUSTER)}
    dropped = sorted({src for name, (_, src) in layer.items() if name.startswith(_CLUSTER)})
    if dropped:
        notes.append(f"{', '.join(dropped)} not used: {why} (a context names the variables it wants, "
                     "e.g. nomad_token_env = \"NOMAD_TOKEN\")")
    return kept


def _check_addresses(flags: dict, ctx_layer: dict, context: str) -> None:
    """A flag's address and the chosen context's naming two clusters: refuse, naming both."""
    for name in _ADDRESSES:
        if name in flags and name in ctx_layer:
            flag_value, flag_source = flags[name]
            ctx_value = ctx_layer[name][0]
            service = "Nomad" if name == "nomad.addr" else "Consul"
            if parse_addr(service, flag_value, flag_source) != parse_addr(service, ctx_value, f"context {context}"):
                raise ConfigError(f"{flag_source} {flag_value} and context {context}'s {name.replace('.', '_')} "
                                  f"{ctx_value} name two clusters: drop --context or the flag")


def _choose_context(switch_to: Optional[str], flag: Optional[str], environ: Mapping[str, str],
                    cfg: Any, config_path: Path) -> Tuple[Optional[str], str]:
    """The context in force and where that choice came from; ConfigError for one the file lacks."""
    context, source = None, "default"
    for value, where in (
        (switch_to, "switched in the app"),
        (flag, "flag --context"),
        (environ.get("DTLE_TUI_CONTEXT"), "env DTLE_TUI_CONTEXT"),
        (cfg.top.get("default_context") if cfg else None, f"config file {config_path}"),
    ):
        if value:
            context, source = value, where
            break
    if context is not None and (cfg is None or context not in cfg.contexts):
        known = ", ".join(cfg.contexts) if cfg and cfg.contexts else "none"
        raise ConfigError(f"unknown context {context!r} ({source}); contexts in {config_path}: {known}")
    return context, source


class _Resolver:
    """Reads each setting from the first layer that has it, noting where it came from (`sources`) and when
    flags or environment override the chosen context (`notes`)."""

    def __init__(self, layers: list, ctx_layer: dict, context: Optional[str], environ: Mapping[str, str]) -> None:
        self.layers, self.ctx_layer, self.context, self.environ = layers, ctx_layer, context, environ
        self.sources: dict = {}
        self.notes: list = []

    def get(self, name: str, default: Any) -> Any:
        for layer in self.layers:
            if name in layer:
                value, source = layer[name]
                if name in self.ctx_layer and layer is not self.ctx_layer:
                    self.notes.append(f"{source} overrides the value from context {self.context} for {name}")
                self.sources[name] = source
                return value.fn() if isinstance(value, Lazy) else value
        self.sources[name] = "default"
        return default

    def number(self, name: str, default: float, minimum: float = 0.0) -> float:
        value = self.get(name, default)
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not value > minimum:
            raise ConfigError(f"{name} must be a number above {minimum:g}, got {value!r} ({self.sources[name]})")
        return float(value)

    def path(self, name: str, must: str) -> Optional[str]:
        value = self.get(name, None)
        if value is None:
            return None
        full = expand(value, self.environ)
        ok = Path(full).is_dir() if must == "dir" else Path(full).is_file()
        if not ok:
            kind = "directory" if must == "dir" else "file"
            raise ConfigError(f"{name}: {kind} {full} not found ({self.sources[name]})")
        return full

    def tls(self, service: str) -> TlsSettings:
        p = f"{service}.tls."
        settings = TlsSettings(
            ca_cert=self.path(p + "ca_cert", "file"),
            ca_path=self.path(p + "ca_path", "dir"),
            client_cert=self.path(p + "client_cert", "file"),
            client_key=self.path(p + "client_key", "file"),
            verify=bool(self.get(p + "verify", True)),
            server_name=self.get(p + "server_name", None),
        )
        if bool(settings.client_cert) != bool(settings.client_key):
            missing = p + ("client_key" if settings.client_cert else "client_cert")
            raise ConfigError(f"{missing} is needed too: a client certificate needs its key and the other way round")
        return settings


def _services(r: _Resolver) -> Tuple[NomadSettings, ConsulSettings]:
    nomad_tls = r.tls("nomad")
    nomad = NomadSettings(
        addr=parse_addr("Nomad", r.get("nomad.addr", DEFAULT_NOMAD_ADDR), r.sources["nomad.addr"]),
        token=r.get("nomad.token", None),
        region=r.get("nomad.region", None),
        namespace=r.get("nomad.namespace", None),
        http_auth=r.get("nomad.http_auth", None),
        tls=nomad_tls,
    )
    consul_ssl = bool(r.get("consul.ssl", False))
    consul = ConsulSettings(
        addr=parse_addr("Consul", r.get("consul.addr", DEFAULT_CONSUL_ADDR), r.sources["consul.addr"], consul_ssl),
        token=r.get("consul.token", None),
        http_auth=r.get("consul.http_auth", None),
        tls=r.tls("consul"),
    )
    return nomad, consul


def _check_color(color: str, source: str) -> None:
    try:
        from rich.color import Color, ColorParseError
    except ImportError:  # pragma: no cover - rich comes with textual
        return
    try:
        Color.parse(color)
    except ColorParseError:
        raise ConfigError(f"color {color!r} is not a colour name or #rrggbb ({source})") from None


def demo_settings(settings: Settings, nomad_addr: str, consul_addr: str) -> Settings:
    """`settings` pointed at the in-process simulator: no tokens, no TLS, nothing of a real cluster.
    dtle's API is asked on each simulated node (their loopback addresses), unless the operator set it."""
    src = dict(settings.sources)
    dtle_api = settings.dtle_api
    if dtle_api is None:
        dtle_api, src["dtle_api"] = "nodes", "demo simulator"
    for name in list(src):
        if name.startswith(("nomad.", "consul.")):
            src[name] = "demo simulator" if name.endswith(".addr") else "default"
    return dataclasses.replace(
        settings,
        nomad=NomadSettings(addr=nomad_addr),
        consul=ConsulSettings(addr=consul_addr),
        demo=True,
        dtle_api=dtle_api,
        context="demo",
        context_color=None,
        sources=src,
        notes=(),
    )


def _mask(name: str, value: Any) -> str:
    if value is None:
        return "-"
    if name.endswith(".token"):
        return f"(set, {len(value)} characters, hidden)"
    if name.endswith(".http_auth"):
        return f"{value[0]}:(hidden)"
    return str(value)


def cluster_rule(settings: Settings) -> list:
    """What decided the cluster and the rest, in words (the head of --show-config)."""
    if settings.demo:
        cluster = "the demo's simulator on 127.0.0.1 (nothing real is touched)"
    elif settings.context:
        cluster = (f"context {settings.context} ({settings.sources.get('context', 'default')}): its values, then "
                   "flags, then defaults; NOMAD_* and CONSUL_* are not read")
    else:
        cluster = "no context in force: flags, then NOMAD_* and CONSUL_*, then defaults"
    return [f"cluster (nomad.*, consul.*): {cluster}",
            "other settings: flags, then environment, then context, then config file, then defaults"]


def describe_settings(settings: Settings) -> list:
    """(name, value, source) rows for --show-config; tokens and passwords masked."""
    rows = []
    for service, svc in (("nomad", settings.nomad), ("consul", settings.consul)):
        for f in dataclasses.fields(svc):
            if f.name == "tls":
                for t in dataclasses.fields(TlsSettings):
                    name = f"{service}.tls.{t.name}"
                    rows.append((name, _mask(name, getattr(svc.tls, t.name)), settings.sources.get(name, "default")))
            else:
                name = f"{service}.{f.name}"
                rows.append((name, _mask(name, getattr(svc, f.name)), settings.sources.get(name, "default")))
    for name in (
        "context",
        "context_color",
        "read_only",
        "refresh",
        "timeout",
        "stall_threshold_s",
        "theme",
        "log_file",
        "log_lines",
        "state_dir",
        "config_dir",
        "config_file",
        "demo",
        "demo_dialect",
        "notify",
        "dtle_api",
        "dtle_api_nomad_token",
    ):
        rows.append((name, _mask(name, getattr(settings, name)), settings.sources.get(name, "default")))
    for binding_id, keys in settings.keys:
        rows.append((f"keys.{binding_id}", keys, f"config file {settings.config_file} [keys]"))
    return rows


def contexts(settings: Settings) -> list:
    """The contexts of the config file these settings were loaded from (for the in-app switcher)."""
    if settings.config_file is None:
        return []
    return contexts_of(read_config_file(settings.config_file))
