"""Where a dtle job copies from and to, read from its task configs (model/jobs.py's `Job.endpoints`).

3.x (docs/reference/dtle.md §7): `ConnectionConfig` in both tasks, `KafkaConfig` in dest for Kafka jobs. 4.22.11+:
`SrcConnectionConfig`/`DestConnectionConfig` in src, dest has only `DestType`. Passwords are never copied.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Optional

from dtle_tui.model.wire import as_int, as_list, as_str

# Task role comes from the task name, case-insensitive (docs/reference/dtle.md §1).
_SRC_NAMES = frozenset({"src", "source"})
_DEST_NAMES = frozenset({"dst", "dest", "destination"})


@dataclass(frozen=True)
class Endpoint:
    kind: str  # "mysql" | "kafka"
    host: str = ""
    port: int = 0
    user: str = ""
    databases: tuple[str, ...] = ()
    brokers: tuple[str, ...] = ()
    topic: str = ""

    def describe(self) -> str:
        if self.kind == "kafka":
            text = "kafka " + (",".join(self.brokers) or "?")
            return f"{text} topic={self.topic}" if self.topic else text
        host = f"[{self.host}]" if ":" in self.host else (self.host or "?")  # IPv6 literal
        text = f"{host}:{self.port}" if self.port else host
        return f"{text} [{','.join(self.databases)}]" if self.databases else text


@dataclass(frozen=True)
class MigrationEndpoints:
    src: Optional[Endpoint] = None
    dest: Optional[Endpoint] = None


def _databases(config: dict, renamed: bool) -> tuple[str, ...]:
    out = []
    for db in as_list(config.get("ReplicateDoDb")):
        if isinstance(db, dict):
            name = (as_str(db.get("TableSchemaRename")) if renamed else "") or as_str(db.get("TableSchema"))
            name = name or as_str(db.get("TableSchemaRegex"))
            if name and name not in out:
                out.append(name)
    return tuple(out)


def _mysql(conn: Any, databases: tuple[str, ...]) -> Optional[Endpoint]:
    if not isinstance(conn, dict):
        return None
    return Endpoint("mysql", as_str(conn.get("Host")), as_int(conn.get("Port")), as_str(conn.get("User")),
                    databases)


def _kafka(conf: Any) -> Optional[Endpoint]:
    if not isinstance(conf, dict):
        return None
    brokers = tuple(as_str(b) for b in as_list(conf.get("Brokers")))
    return Endpoint("kafka", brokers=brokers, topic=as_str(conf.get("Topic")))


def endpoints_of(groups: Iterable[Any]) -> MigrationEndpoints:
    """`groups`: TaskGroup objects (anything with `.tasks`, each with `.name` and `.config`)."""
    src_cfg: dict = {}
    dest_cfg: dict = {}
    for group in groups:
        for task in group.tasks:
            role = task.name.lower()
            if role in _SRC_NAMES:
                src_cfg = task.config
            elif role in _DEST_NAMES:
                dest_cfg = task.config
    dbs = _databases(src_cfg, renamed=False)
    dest_dbs = _databases(src_cfg, renamed=True)
    # 3.x: ConnectionConfig in both tasks, KafkaConfig in dest for Kafka jobs. 4.22.11+: both
    # connections live in src (Src/DestConnectionConfig), dest only says DestType (docs/reference/dtle.md §7).
    src = _mysql(src_cfg.get("ConnectionConfig"), dbs) or _mysql(src_cfg.get("SrcConnectionConfig"), dbs)
    dest_type = as_str(dest_cfg.get("DestType")).lower()
    dest = _kafka(dest_cfg.get("KafkaConfig"))
    if dest is None and dest_type == "kafka":
        dest = _kafka(src_cfg.get("KafkaConfig")) or Endpoint("kafka")
    if dest is None:
        dest = _mysql(dest_cfg.get("ConnectionConfig"), dest_dbs) or _mysql(
            src_cfg.get("DestConnectionConfig"), dest_dbs)
    return MigrationEndpoints(src, dest)
