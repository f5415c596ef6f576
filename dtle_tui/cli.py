"""`dtle-tui` / `python -m dtle_tui`: settings, logging, the optional demo cluster, then the app.

A bad setting is one line on stderr and exit status 2, before any screen is drawn. Logging goes to a
file only (the terminal belongs to the UI), with every configured token cut out.
"""

from __future__ import annotations

import errno
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Optional, Sequence

from dtle_tui.config.settings import (
    ConfigError,
    Settings,
    cluster_rule,
    demo_settings,
    describe_settings,
    load_settings,
)
from dtle_tui.text.secrets import add_secret, redact
from dtle_tui.tuning import start_up_hold

if TYPE_CHECKING:
    from dtle_tui.live.startup import EarlyPoller

log = logging.getLogger("dtle_tui")


class _RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message)
        if clean != message or record.args:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


def setup_logging(settings: Settings) -> logging.Handler:
    """Send the root logger to the log file (directories 0700, file 0600); nothing to the terminal."""
    path = Path(settings.log_file)
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.close(fd)
        handler: logging.Handler = logging.FileHandler(path, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot write log file {path}: {exc.strerror or exc}") from None
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(_RedactingFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    # httpx logs every request at INFO; a blocking poller would fill the file.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    return handler


def format_settings(settings: Settings) -> str:
    rows = describe_settings(settings)
    width = max(len(name) for name, _, _ in rows)
    value_width = min(60, max(len(value) for _, value, _ in rows))
    lines = list(cluster_rule(settings))
    lines += [f"{name:<{width}}  {value:<{value_width}}  {source}" for name, value, source in rows]
    lines += [f"note: {note}" for note in settings.notes]
    return "\n".join(lines)


def _error(message: str) -> int:
    print(f"dtle-tui: error: {redact(message)}", file=sys.stderr)
    return 2


def register_secrets(settings: Settings) -> None:
    """Every configured token and basic-auth password is cut out of every later message and log line."""
    add_secret(settings.nomad.token)
    add_secret(settings.consul.token)
    for auth in (settings.nomad.http_auth, settings.consul.http_auth):
        if auth:
            add_secret(auth[1])


def check_theme(settings: Settings) -> None:
    """ConfigError for a theme Textual does not have: starting refuses it, and --show-config with it."""
    if settings.theme:
        from textual.theme import BUILTIN_THEMES  # only for a named theme: --help never loads Textual

        if settings.theme not in BUILTIN_THEMES:
            names = ", ".join(sorted(BUILTIN_THEMES))
            raise ConfigError(f"unknown theme {settings.theme!r} (one of: {names})")


def check_log_file(path: Path) -> None:
    """ConfigError when the log file could not be written, as setup_logging would fail, creating nothing
    (--show-config writes no file)."""
    problem = None
    if path.exists():
        if path.is_dir():
            problem = errno.EISDIR
        elif not os.access(path, os.W_OK):
            problem = errno.EACCES
    else:
        parent = path.parent
        while not parent.exists() and parent != parent.parent:
            parent = parent.parent
        if not parent.is_dir():
            problem = errno.ENOTDIR
        elif not os.access(parent, os.W_OK | os.X_OK):
            problem = errno.EACCES
    if problem is not None:
        raise ConfigError(f"cannot write log file {path}: {os.strerror(problem)}")


def check_keys(settings: Settings) -> None:
    """ConfigError when [keys] remaps an ID no binding has. Only with remaps: the check imports every
    screen (Textual), which a start-up without remaps does not wait for."""
    if settings.keys:
        from dtle_tui.app import DtleApp
        from dtle_tui.keys import check_keymap

        check_keymap(dict(settings.keys), DtleApp)


def main(argv: Optional[Sequence[str]] = None) -> int:
    with start_up_hold():  # the app ends it once the job list is painted (tuning.py)
        return _main(list(sys.argv[1:] if argv is None else argv))


def _main(args: list) -> int:
    try:
        settings = load_settings(args, os.environ)
    except SystemExit as exc:  # --help / --version: argparse printed them
        return int(exc.code or 0)
    except ConfigError as exc:
        return _error(str(exc))
    try:
        from dtle_tui.api.http import check_tls_files  # httpx: the poller imports it next anyway

        check_tls_files(settings)
    except ConfigError as exc:
        return _error(str(exc))
    register_secrets(settings)
    try:
        # Before the poller starts (a poller stopped at once leaves its tasks half-cancelled).
        check_keys(settings)
        check_theme(settings)
        if "--show-config" in args:  # what starting checks next, without writing the log file
            check_log_file(Path(settings.log_file))
    except ConfigError as exc:
        return _error(str(exc))
    if "--show-config" in args:
        print(format_settings(settings))
        return 0
    try:
        handler = setup_logging(settings)
    except ConfigError as exc:
        return _error(str(exc))
    sim = None
    early: Optional[EarlyPoller] = None
    try:
        if settings.demo:
            from dtle_tui.sim import SimCluster

            sim = SimCluster(dialect=settings.demo_dialect, troubles=True)
            sim.start()
            settings = demo_settings(settings, sim.nomad_addr, sim.consul_addr)
        log.info(
            "dtle-tui starting: nomad %s, consul %s, context %s",
            settings.nomad.addr,
            settings.consul.addr,
            settings.context or "-",
        )
        for note in settings.notes:
            log.warning("%s", note)
        from dtle_tui.live.startup import EarlyPoller  # the poller: --help and --show-config need no HTTP client

        early = EarlyPoller(settings)
        from dtle_tui.app import run_app  # lazily: --help and --version must not load Textual

        return int(run_app(settings, early) or 0)
    except KeyboardInterrupt:
        return 130
    finally:
        if early is not None:
            early.stop()  # the app stops it too; a second stop does nothing
        if sim is not None:
            sim.stop()
        logging.getLogger().removeHandler(handler)
        handler.close()
