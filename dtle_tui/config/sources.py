"""Where settings come from: the command line, the environment, the config file; one layer each.

A layer maps a setting name (the keys of `Settings.sources`) to (value, source). The environment is
read exactly as the `nomad` and `consul` CLIs read it (nomad-api.md §7, consul-kv.md §6). Values that
need a file read are `Lazy`, so an overridden token file is never opened.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Callable, Mapping, Optional, Tuple
from urllib.parse import urlsplit

from dtle_tui import __version__
from dtle_tui.config.file import CONTEXT_KEYS, TOP_LEVEL, ConfigError, ConfigFile

DEFAULT_NOMAD_ADDR = "http://127.0.0.1:4646"
DEFAULT_CONSUL_ADDR = "127.0.0.1:8500"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2 by the caller, instead of usage + message
        raise ConfigError(message)


EPILOG = """\
which cluster (addresses, region, namespace, tokens, TLS):
  a context chosen with --context NAME (or DTLE_TUI_CONTEXT, or C in the app) decides it: the context's
  values, then these flags (an address that disagrees with the context's is refused), then defaults.
  NOMAD_* and CONSUL_* are not read: a context names the variables it wants, e.g.
  nomad_token_env = "NOMAD_TOKEN". The config file's default_context does the same, unless a flag or
  NOMAD_ADDR / CONSUL_HTTP_ADDR names an address: then no context is in force. Without a context:
  flags, then NOMAD_* / CONSUL_* (as the nomad and consul CLIs read them), then defaults.
other settings: flags, then environment, then the context, then the config file, then defaults.

examples:
  dtle-tui                                  uses NOMAD_ADDR / CONSUL_HTTP_ADDR like the nomad and consul CLIs
  dtle-tui --nomad-addr http://nomad.example:4646 --consul-addr consul.example:8500
  dtle-tui --context prod --read-only       a [contexts.prod] table of the config file
  NOMAD_TOKEN=... CONSUL_HTTP_TOKEN=... dtle-tui --namespace default
  dtle-tui --show-config                    where every setting comes from (tokens masked)
  dtle-tui --demo --demo-dialect 0.11       a simulated cluster, nothing real is touched

config file: $XDG_CONFIG_HOME/dtle-tui/config.toml (default ~/.config/dtle-tui/config.toml)
"""


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        allow_abbrev=False,
        prog="dtle-tui",
        description="Terminal console for dtle 3.x jobs on Nomad and Consul.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    a = p.add_argument
    a(
        "--nomad-addr",
        metavar="URL",
        help=f"Nomad HTTP address (else the context's, else env NOMAD_ADDR; default {DEFAULT_NOMAD_ADDR})",
    )
    a("--nomad-token-file", metavar="PATH",
      help="file holding the Nomad ACL token (else the context's, else env NOMAD_TOKEN)")
    a("--region", help="Nomad region (else the context's, else env NOMAD_REGION)")
    a("--namespace", help="Nomad namespace (else the context's, else env NOMAD_NAMESPACE)")
    a(
        "--consul-addr",
        metavar="ADDR",
        help=f"Consul HTTP address (else the context's, else env CONSUL_HTTP_ADDR; default {DEFAULT_CONSUL_ADDR})",
    )
    a(
        "--consul-token-file",
        metavar="PATH",
        help="file holding the Consul ACL token (else the context's, else env CONSUL_HTTP_TOKEN)",
    )
    a("--context", metavar="NAME",
      help="use [contexts.NAME] of the config file: it decides the cluster (see below; env DTLE_TUI_CONTEXT)")
    a("--config", metavar="PATH", help="config file (default $XDG_CONFIG_HOME/dtle-tui/config.toml)")
    a("--read-only", action="store_const", const=True, help="refuse every change (delete, purge, reset, add)")
    a("--refresh", type=float, metavar="SECONDS", help="refresh interval (default 2)")
    a("--timeout", type=float, metavar="SECONDS", help="HTTP request timeout (default 10)")
    a(
        "--stall-threshold",
        type=float,
        metavar="SECONDS",
        help="flag a job whose position has not moved for this long (default 300)",
    )
    a("--notify", action="store_const", const=True,
      help="terminal notifications (OSC 777/9) and the bell when a job stalls, fails or turns incremental")
    a(
        "--dtle-api",
        metavar="URL|nodes[:PORT]",
        help="dtle's own API for full-copy progress and delay: a URL, or `nodes` to ask each allocation's "
        "node (env DTLE_API_ADDR; default off)",
    )
    a("--theme", metavar="NAME", help="colour theme")
    a("--log-file", metavar="PATH", help="log file (default $XDG_STATE_HOME/dtle-tui/dtle-tui.log)")
    a("--demo", action="store_const", const=True,
      help="run against a built-in simulated cluster; its audit and backups go to $XDG_CACHE_HOME/dtle-tui/demo")
    a("--demo-dialect", choices=["0.11", "1.1"], help="Nomad dialect of the demo cluster (default 1.1)")
    a("--show-config", action="store_true", help="print the settings and where each comes from, then exit")
    a("--version", action="version", version=f"dtle-tui {__version__}")
    return p


# ---- value parsing ---------------------------------------------------------------------------------


class Lazy:
    """A value computed only if its layer wins (an unread token file must not fail an overridden one)."""

    def __init__(self, fn: Callable[[], Any]) -> None:
        self.fn = fn


_TRUE = {"1", "t", "T", "TRUE", "true", "True"}
_FALSE = {"0", "f", "F", "FALSE", "false", "False"}


def _go_bool(text: str, source: str) -> bool:
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ConfigError(f"{source}: {text!r} is not a boolean (use true/false or 1/0)")


def _auth(text: str) -> Tuple[str, str]:
    user, _, password = text.partition(":")  # split at the first colon, as Go's api does
    return (user, password)


def expand(path: str, environ: Mapping[str, str]) -> str:
    if path.startswith("~") and environ.get("HOME"):
        path = environ["HOME"] + path[1:]
    return str(Path(path).expanduser())


def _token_file(path: str, source: str, environ: Mapping[str, str]) -> Lazy:
    def read() -> str:
        full = expand(path, environ)
        try:
            token = Path(full).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"{source}: cannot read token file {full}: {exc.strerror or exc}") from None
        except UnicodeDecodeError:
            raise ConfigError(f"{source}: token file {full} is not text") from None
        if not token:
            raise ConfigError(f"{source}: token file {full} is empty")
        return token

    return Lazy(read)


def _token_env(var: str, source: str, environ: Mapping[str, str]) -> Lazy:
    def read() -> str:
        if not environ.get(var):
            raise ConfigError(f"{source}: environment variable {var} is not set")
        return environ[var]

    return Lazy(read)


def parse_addr(service: str, value: str, source: str, consul_ssl: bool = False) -> str:
    text = value.strip()
    if "://" not in text:
        text = ("https://" if consul_ssl else "http://") + text
    elif consul_ssl and text.startswith("http://"):
        text = "https://" + text[len("http://") :]  # Consul never reverts to http once SSL is asked for
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as exc:
        raise ConfigError(f"invalid {service} address {value!r} ({source}): {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise ConfigError(f"invalid {service} address {value!r} ({source}): scheme must be http or https")
    if not parts.hostname:
        raise ConfigError(f"invalid {service} address {value!r} ({source}): no host")
    if parts.query or parts.fragment or "@" in parts.netloc:
        raise ConfigError(f"invalid {service} address {value!r} ({source}): expected scheme://host:port")
    return text.rstrip("/")


DTLE_API_OFF = ("", "off", "none", "false", "0")


def parse_dtle_api(value: str, source: str) -> str | None:
    """`nodes`, `nodes:PORT`, or an http(s) URL (dtle-monitor.md §5); None for off.

    Returned as given but normalised: `nodes`, `nodes:8190`, `http://host:8190` (no trailing slash).
    """
    text = value.strip()
    if text.lower() in DTLE_API_OFF:
        return None
    if text == "nodes" or text.startswith("nodes:"):
        port = text[len("nodes:"):] if text != "nodes" else ""
        if port and not (port.isdigit() and 0 < int(port) < 65536):
            raise ConfigError(f"invalid dtle_api {value!r} ({source}): the port after nodes: must be 1-65535")
        return text
    if "://" not in text:
        raise ConfigError(f"invalid dtle_api {value!r} ({source}): use a URL (http://host:8190), nodes or nodes:PORT")
    return parse_addr("dtle API", text, source)


# ---- the layers --------------------------------------------------------------------------------------

Layer = dict  # setting name -> (value or Lazy, source)


def flag_layer(ns: argparse.Namespace, environ: Mapping[str, str]) -> Layer:
    out: Layer = {}
    simple = {
        "nomad_addr": "nomad.addr",
        "region": "nomad.region",
        "namespace": "nomad.namespace",
        "consul_addr": "consul.addr",
        "read_only": "read_only",
        "refresh": "refresh",
        "timeout": "timeout",
        "stall_threshold": "stall_threshold_s",
        "theme": "theme",
        "log_file": "log_file",
        "demo": "demo",
        "demo_dialect": "demo_dialect",
        "notify": "notify",
        "dtle_api": "dtle_api",
    }
    for attr, name in simple.items():
        value = getattr(ns, attr)
        if value is not None:
            out[name] = (value, "flag --" + attr.replace("_", "-"))
    for service in ("nomad", "consul"):
        path = getattr(ns, f"{service}_token_file")
        if path:
            source = f"flag --{service}-token-file"
            out[f"{service}.token"] = (_token_file(path, source, environ), source)
    return out


_NOMAD_ENV = {
    "NOMAD_ADDR": "nomad.addr",
    "NOMAD_TOKEN": "nomad.token",
    "NOMAD_REGION": "nomad.region",
    "NOMAD_NAMESPACE": "nomad.namespace",
    "NOMAD_CACERT": "nomad.tls.ca_cert",
    "NOMAD_CAPATH": "nomad.tls.ca_path",
    "NOMAD_CLIENT_CERT": "nomad.tls.client_cert",
    "NOMAD_CLIENT_KEY": "nomad.tls.client_key",
    "NOMAD_TLS_SERVER_NAME": "nomad.tls.server_name",
    "CONSUL_HTTP_ADDR": "consul.addr",
    "CONSUL_HTTP_TOKEN": "consul.token",
    "CONSUL_CACERT": "consul.tls.ca_cert",
    "CONSUL_CAPATH": "consul.tls.ca_path",
    "CONSUL_CLIENT_CERT": "consul.tls.client_cert",
    "CONSUL_CLIENT_KEY": "consul.tls.client_key",
    "CONSUL_TLS_SERVER_NAME": "consul.tls.server_name",
}


def env_layer(environ: Mapping[str, str]) -> Layer:
    out: Layer = {}
    # An empty variable counts as unset, as in Go's `if v := os.Getenv(...); v != ""`.
    for var, name in _NOMAD_ENV.items():
        if environ.get(var):
            out[name] = (environ[var], "env " + var)
    for var, service in (("NOMAD_HTTP_AUTH", "nomad"), ("CONSUL_HTTP_AUTH", "consul")):
        if environ.get(var):
            out[f"{service}.http_auth"] = (_auth(environ[var]), "env " + var)
    if environ.get("CONSUL_HTTP_TOKEN_FILE") and "consul.token" not in out:
        source = "env CONSUL_HTTP_TOKEN_FILE"
        out["consul.token"] = (_token_file(environ["CONSUL_HTTP_TOKEN_FILE"], source, environ), source)
    if environ.get("DTLE_API_ADDR"):
        out["dtle_api"] = (environ["DTLE_API_ADDR"], "env DTLE_API_ADDR")
    if environ.get("NOMAD_SKIP_VERIFY"):
        out["nomad.tls.verify"] = (
            not _go_bool(environ["NOMAD_SKIP_VERIFY"], "env NOMAD_SKIP_VERIFY"),
            "env NOMAD_SKIP_VERIFY",
        )
    for var, name in (("CONSUL_HTTP_SSL", "consul.ssl"), ("CONSUL_HTTP_SSL_VERIFY", "consul.tls.verify")):
        if environ.get(var):
            out[name] = (_go_bool(environ[var], "env " + var), "env " + var)
    return out


def file_layer(cfg: ConfigFile, context: Optional[str], environ: Mapping[str, str]) -> Layer:
    out: Layer = {}
    if context is None:
        table, keys, source = cfg.top, TOP_LEVEL, f"config file {cfg.path}"
    else:
        table, keys, source = cfg.contexts[context], CONTEXT_KEYS, f"config context {context}"
    for key, value in table.items():
        name = keys[key][1]
        if name is None or key == "default_context":
            continue
        if key.endswith("_token_env"):
            value = _token_env(value, f"{source} {key}", environ)
        elif key.endswith("_token_file"):
            value = _token_file(value, f"{source} {key}", environ)
        elif key.endswith("_skip_verify"):
            value = not value
        out[name] = (value, source)
    return out
