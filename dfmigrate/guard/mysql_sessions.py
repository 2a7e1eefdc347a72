"""Before a MySQL or MariaDB statement takes a table's metadata lock: who holds one on it?

Every ``ALTER TABLE`` takes the table's metadata lock EXCLUSIVE, at its end at least (an
``INSTANT`` one at once): it waits for every session whose transaction has read or written the
table, and while it waits every later query on the table queues behind it. So before such a
statement (the renderer's data: it runs outside any transaction, on ``Step.target``, with the
``metadata-lock`` hazard), the sessions holding a metadata lock on the table are read here and
judged by the deadlock detector (``stepguard``), as on PostgreSQL. A statement adding or dropping
a foreign key locks the table it references too (``Step.also_locks``): its holders are read as
well, on MariaDB only those writing it (what that lock waits for; see ``MysqlTarget``). The same reader answers the
blocker watch while a statement runs (``blockers``).

Where the holders come from, chosen once per run from what the server offers (``source``):

- ``performance_schema`` (``metadata_locks``: on by default on MySQL 8; on MariaDB when the
  server runs with ``performance_schema=ON`` and the ``wait/lock/metadata/sql/mdl`` instrument):
  the exact holders and their lock types; pending requests say whom each holder waits for, so a
  wait cycle through this run's ``GET_LOCK`` is seen.
- ``metadata_lock_info`` (MariaDB's plugin, ``information_schema.METADATA_LOCK_INFO``): the exact
  holders and their lock types; granted locks only, so no cycle is seen.
- ``open transactions`` (MariaDB with neither, its default): ``LOCK TABLES … WRITE NOWAIT`` on
  the observer says at once whether the table is locked, queueing nothing (a free table is held
  for that one round trip). If it is, the holder is one of the sessions with an open transaction
  (``INNODB_TRX``) or a running statement: all of them are named, those using the table's
  database and with the oldest transaction first.
- ``none`` (MySQL without performance_schema: its ``LOCK TABLES`` has no ``NOWAIT``): no
  pre-check; the statement runs under ``lock_wait_timeout``, and the watch names the open
  transactions if it waits.

Each session is named from ``information_schema.PROCESSLIST`` (id, user@host, what it runs) and
``INNODB_TRX`` (how long its transaction has been open); seeing other users' sessions needs the
PROCESS privilege.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from dfmigrate.dialects.mysql import NAMESPACE
from dfmigrate.dialects.mysql.quote import quote_ident
from dfmigrate.core.statement import Hazard

PERFORMANCE_SCHEMA, METADATA_LOCK_INFO, OPEN_TRANSACTIONS, NONE = (
    "performance_schema", "metadata_lock_info", "open transactions", "none")
EXACT = (PERFORMANCE_SCHEMA, METADATA_LOCK_INFO)
# The metadata lock types of a session writing a table (or altering it): those that conflict with
# what MariaDB's ALTER takes on a table its foreign key references (readers' do not)
WRITES = frozenset({"SHARED_WRITE", "SHARED_WRITE_LOW_PRIO", "SHARED_UPGRADABLE", "SHARED_NO_WRITE",
                    "SHARED_NO_READ_WRITE", "EXCLUSIVE"})

_OFFERED = """SELECT @@performance_schema AS ps,
       (SELECT COUNT(*) FROM information_schema.PLUGINS
         WHERE PLUGIN_NAME = 'METADATA_LOCK_INFO' AND PLUGIN_STATUS = 'ACTIVE') AS mli"""
_MDL_INSTRUMENT = ("SELECT ENABLED AS enabled FROM performance_schema.setup_instruments"
                   " WHERE NAME = 'wait/lock/metadata/sql/mdl'")

_HOLDERS = {
    PERFORMANCE_SCHEMA: """
SELECT t.PROCESSLIST_ID AS id, GROUP_CONCAT(DISTINCT m.LOCK_TYPE ORDER BY m.LOCK_TYPE) AS mode
  FROM performance_schema.metadata_locks m JOIN performance_schema.threads t ON t.THREAD_ID = m.OWNER_THREAD_ID
 WHERE m.OBJECT_TYPE = 'TABLE' AND m.OBJECT_SCHEMA = $1 AND m.OBJECT_NAME = $2 AND m.LOCK_STATUS = 'GRANTED'
   AND t.PROCESSLIST_ID IS NOT NULL
 GROUP BY t.PROCESSLIST_ID""",
    METADATA_LOCK_INFO: """
SELECT THREAD_ID AS id, GROUP_CONCAT(DISTINCT REPLACE(LOCK_MODE, 'MDL_', '') ORDER BY LOCK_MODE) AS mode
  FROM information_schema.METADATA_LOCK_INFO
 WHERE LOCK_TYPE = 'Table metadata lock' AND TABLE_SCHEMA = $1 AND TABLE_NAME = $2
 GROUP BY THREAD_ID""",
}

# whom each session waits for: its pending metadata lock requests (tables, GET_LOCK names, …)
# against the sessions granted a lock on the same object
_WAITS = """
SELECT tw.PROCESSLIST_ID AS waiter, th.PROCESSLIST_ID AS holder
  FROM performance_schema.metadata_locks w
  JOIN performance_schema.threads tw ON tw.THREAD_ID = w.OWNER_THREAD_ID
  JOIN performance_schema.metadata_locks h
    ON h.OBJECT_TYPE = w.OBJECT_TYPE AND h.OBJECT_SCHEMA <=> w.OBJECT_SCHEMA AND h.OBJECT_NAME <=> w.OBJECT_NAME
   AND h.LOCK_STATUS = 'GRANTED' AND h.OWNER_THREAD_ID <> w.OWNER_THREAD_ID
  JOIN performance_schema.threads th ON th.THREAD_ID = h.OWNER_THREAD_ID
 WHERE w.LOCK_STATUS = 'PENDING' AND tw.PROCESSLIST_ID IS NOT NULL AND th.PROCESSLIST_ID IS NOT NULL"""

_SESSIONS = """
SELECT p.ID AS id, p.USER AS user, p.HOST AS host, p.DB AS db, p.COMMAND AS command, p.STATE AS state,
       p.TIME AS time, LEFT(p.INFO, 120) AS query, x.trx_state AS trx_state,
       TIMESTAMPDIFF(SECOND, x.trx_started, NOW()) AS xact_age
  FROM information_schema.PROCESSLIST p LEFT JOIN information_schema.INNODB_TRX x ON x.trx_mysql_thread_id = p.ID
 WHERE p.ID <> CONNECTION_ID() AND """

# the sessions that may hold a metadata lock when the server does not say who does: those in a
# transaction, and those running a statement (an autocommit query holds its locks until it ends),
# except the statements queued for a metadata lock themselves
_MAY_HOLD = ("(x.trx_id IS NOT NULL OR (p.COMMAND IN ('Query', 'Execute')"
             " AND COALESCE(p.STATE, '') NOT LIKE 'Waiting for%metadata lock'))")

_LOCK_WAIT_TIMEOUT = 1205  # what LOCK TABLES … NOWAIT answers when the table is locked
_NO_SUCH_TABLE = 1146
_UNKNOWN_THREAD = 1094


@dataclass(frozen=True)
class MysqlTarget:
    schema: str  # the database
    table: str
    mode: str = "EXCLUSIVE metadata lock"  # what every ALTER TABLE takes in the end
    # (database, table) of each table a foreign key the statement adds or drops references: it
    # takes a metadata lock there too, which on MariaDB waits for the table's writers only
    # (``writers_only``; its readers do not block it), on MySQL 8 for every session using it
    referenced: tuple[tuple[str, str], ...] = ()
    writers_only: bool = True

    @property
    def own(self) -> str:
        return f"{self.schema}.{self.table}"

    @property
    def relation(self) -> str:
        """The locks as a message names them: the table's, then the referenced tables'."""
        if not self.referenced:
            return self.own
        which = "one that waits for writers" if self.writers_only else "one"
        tables = ", ".join(f"{schema}.{table}" for schema, table in self.referenced)
        return f"{self.own} (and {which} on {tables}, which its foreign key references)"

    def tables(self) -> list[tuple[str, str, bool]]:
        """(database, table, whether only writers conflict) for each table whose holders matter."""
        return [(self.schema, self.table, False),
                *((schema, table, self.writers_only) for schema, table in self.referenced)]


@dataclass(frozen=True)
class SessionHolder:
    pid: int  # the connection id (PROCESSLIST.ID, KILL's argument); 0: a session the server does not name
    mode: str  # the metadata lock types it holds on the table; "?" when the server does not say
    user: str | None = None
    host: str | None = None
    db: str | None = None
    command: str | None = None
    state: str | None = None
    query: str | None = None  # what it runs now (None: idle)
    time: int | None = None  # seconds in its current command
    xact_age: int | None = None  # seconds its transaction has been open (None: none open)
    waits_for: tuple[int, ...] = field(default=())  # sessions it waits for (performance_schema only)

    def _fields(self) -> dict[str, Any]:
        return {"pid": self.pid, "mode": self.mode, "user": self.user, "host": self.host, "db": self.db,
                "command": self.command, "state": self.state, "query": self.query, "time": self.time,
                "xact_age": self.xact_age, "waits_for": list(self.waits_for)}

    def to_dict(self) -> dict[str, Any]:
        """The report's holder: its facts and how it is named (the report's lines show that)."""
        fields = self._fields()
        return {**fields, "description": describe_session(fields)}

    def describe(self) -> str:
        return describe_session(self._fields())


def describe_session(s: dict[str, Any]) -> str:
    if not s["pid"]:
        return ("a session this server does not name (no open transaction or running statement is visible: "
                "without the PROCESS privilege only this user's sessions are)")
    doing = (f"running {' '.join(str(s['query']).split())!r} for {s['time']} s" if s.get("query")
             else f"idle for {s['time']} s" if s.get("command") == "Sleep" else (s.get("command") or "?"))
    transaction = (f"transaction open {s['xact_age']} s" if s.get("xact_age") is not None
                   else "no open transaction")
    held = f", holds {s['mode']}" if s.get("mode") not in (None, "?") else ""
    return f"connection {s['pid']} ({s.get('user') or '?'}@{s.get('host') or '?'}, {doing}, {transaction}{held})"


class MysqlSessions:
    """MySQL's answers to the step guard's questions (``stepguard``), for one run: ``setup``
    reads what the server offers, once, on the observer connection."""

    prefix = "mysql"  # the deadlock detector's transaction ids
    noun = "connection"

    def __init__(self) -> None:
        self.source = NONE
        self.schema = ""
        self.mariadb = False

    async def setup(self, observer: Any) -> None:
        self.schema = observer.database
        self.mariadb = bool(getattr(observer, "mariadb", False))
        offered = (await observer.fetch(_OFFERED))[0]
        if offered["ps"] and any(r["enabled"] == "YES" for r in await observer.fetch(_MDL_INSTRUMENT)):
            self.source = PERFORMANCE_SCHEMA
        elif offered["mli"]:
            self.source = METADATA_LOCK_INFO
        elif self.mariadb:
            self.source = OPEN_TRANSACTIONS
        else:
            self.source = NONE

    @property
    def exact(self) -> bool:
        return self.source in EXACT

    def target_of(self, step: Any) -> MysqlTarget | None:
        """The table whose metadata lock a DDL statement takes (none for data steps, which run in
        a transaction and wait for row locks, and without a source to read the holders from)."""
        if (self.source == NONE or step.sql is None or step.transactional or not step.target
                or Hazard.METADATA_LOCK.value not in step.hazards):
            return None
        referenced = tuple(self._table(r) for r in getattr(step, "also_locks", ()))
        return MysqlTarget(self.schema, step.target.split(".", 1)[-1], referenced=referenced,
                           writers_only=self.mariadb)

    def _table(self, relation: str) -> tuple[str, str]:
        """(database, table) of a relation a step names: the schema's namespace is this database."""
        namespace, _, table = relation.rpartition(".")
        return (self.schema if namespace in ("", NAMESPACE) else namespace), table

    # ---------------------------------------------------------------- the pre-check

    async def holders(self, observer: Any, target: MysqlTarget, ours: list[int]) -> list[SessionHolder]:
        """The sessions (other than ``ours``) holding a metadata lock the statement waits for: any
        on its table, one that writes on a table its foreign key references (MariaDB); with no
        metadata-lock source, every session that may hold one, once a table is seen locked."""
        if self.source in EXACT:
            modes: dict[int, list[str]] = {}
            for schema, table, writers_only in target.tables():
                for r in await observer.fetch(_HOLDERS[self.source], schema, table):
                    held = str(r["mode"])
                    if writers_only and not WRITES & set(held.split(",")):
                        continue
                    where = "" if (schema, table) == (target.schema, target.table) else f" on {schema}.{table}"
                    modes.setdefault(int(r["id"]), []).append(held + where)
            for pid in ours:
                modes.pop(pid, None)
            if not modes:
                return []
            waits = await self._waits(observer) if self.source == PERFORMANCE_SCHEMA else {}
            sessions = await _sessions(observer, f"p.ID IN ({_params(len(modes))})", *sorted(modes))
            return [_holder(s, "; ".join(modes[s["id"]]), waits.get(s["id"], ())) for s in sessions]
        for schema, table, writers_only in target.tables():
            if await _locked(observer, schema, table, "READ" if writers_only else "WRITE"):
                return await self.candidates(observer, ours, target)
        return []

    async def candidates(self, observer: Any, ours: list[int], target: MysqlTarget | None) -> list[SessionHolder]:
        """Sessions that may hold the lock (open transaction or running statement): those in the
        table's database first, then the oldest transaction first; an unnamed one if none is visible."""
        found = [_holder(s, "?", ()) for s in await _sessions(observer, _MAY_HOLD) if s["id"] not in ours]
        schema = target.schema if target else self.schema
        found.sort(key=lambda h: (h.db != schema, -(h.xact_age if h.xact_age is not None else -1), h.pid))
        return found or [SessionHolder(0, "?")]

    async def _waits(self, observer: Any) -> dict[int, tuple[int, ...]]:
        out: dict[int, set[int]] = {}
        for r in await observer.fetch(_WAITS):
            out.setdefault(int(r["waiter"]), set()).add(int(r["holder"]))
        return {k: tuple(sorted(v)) for k, v in out.items()}

    def held_by(self, holders: list[SessionHolder]) -> str:
        named = "; ".join(h.describe() for h in holders)
        if self.exact:
            return f"held ({self.source}) by {named}"
        return (f"held by one of the sessions with an open transaction or a running statement (this server "
                f"shows no metadata locks, and LOCK TABLES … NOWAIT was refused): {named}")

    # ---------------------------------------------------------------- --cancel-blockers

    def to_end(self, holders: list[SessionHolder], ended: list[int]) -> list[int]:
        """The holders to end now. Known holders: all those not ended yet (an ended session may
        still be rolling back, keeping its locks: waited for, not ended again). Possible holders
        (no metadata-lock source): one at a time, in the table's database, oldest transaction
        first, and only once the last one ended is gone; the table is looked at again in between."""
        fresh = [h.pid for h in holders if h.pid and h.pid not in ended]
        if self.exact:
            return sorted(fresh)
        if any(h.pid in ended for h in holders):
            return []
        return [h.pid for h in holders if h.pid in fresh and h.db == self.schema][:1]

    async def end(self, observer: Any, pids: list[int]) -> list[int]:
        """``KILL CONNECTION`` each id: a ``KILL QUERY`` would not help, an idle session in a
        transaction has no query, and keeps its locks until its transaction ends. Returns those
        ended (one already gone is not)."""
        import asyncmy.errors

        ended = []
        for pid in pids:
            try:
                await observer.execute(f"KILL CONNECTION {int(pid)}")
            except asyncmy.errors.Error as exc:
                if exc.args[:1] == (_UNKNOWN_THREAD,):  # it ended by itself meanwhile
                    continue
                raise
            ended.append(pid)
        return ended

    # ---------------------------------------------------------------- the blocker watch

    async def blocking(self, observer: Any, waiter: int, step: Any) -> list[dict[str, Any]]:
        """Who the running statement waits for: the holders of its table's metadata lock while it
        waits for one (or, without a source, every possible holder), the open transactions while
        it waits for a row lock. Nothing while it is not waiting."""
        rows = await observer.fetch("SELECT p.STATE AS state, x.trx_state AS trx_state FROM information_schema."
                                    "PROCESSLIST p LEFT JOIN information_schema.INNODB_TRX x ON "
                                    "x.trx_mysql_thread_id = p.ID WHERE p.ID = $1", waiter)
        if not rows:
            return []
        metadata = "metadata lock" in str(rows[0]["state"] or "")
        if not metadata and rows[0]["trx_state"] != "LOCK WAIT":
            return []
        target = self.target_of(step)
        if metadata and target is not None and self.exact:
            holders = await self.holders(observer, target, [waiter])
        else:
            holders = await self.candidates(observer, [waiter], target)
        relation = target.own if target else "?"
        wanted = f"metadata:{relation}:EXCLUSIVE" if metadata else "row lock:?"
        return [{**h.to_dict(), "held": f"{relation}:{h.mode}", "wanted": wanted} for h in holders if h.pid]

    async def progress(self, observer: Any, waiter: int) -> dict[str, Any] | None:
        return None  # index builds report no progress here

    def describe(self, blockers: Iterable[dict[str, Any]]) -> str:
        return ", ".join(describe_session(b) for b in blockers)


def _params(n: int) -> str:
    return ", ".join(f"${i + 1}" for i in range(n))


async def _sessions(observer: Any, where: str, *args: Any) -> list[dict[str, Any]]:
    return [dict(r.items()) for r in await observer.fetch(_SESSIONS + where + " ORDER BY p.ID", *args)]


async def named_sessions(conn: Any, where: str, *args: Any) -> list[SessionHolder]:
    """The sessions (other than ``conn``'s own) matching ``where`` (on ``PROCESSLIST p`` ⨝
    ``INNODB_TRX x``), each named as every holder is: the migration lock's holder too."""
    return [_holder(s, "?", ()) for s in await _sessions(conn, where, *args)]


def _holder(s: dict[str, Any], mode: str, waits_for: tuple[int, ...]) -> SessionHolder:
    age = s.get("xact_age")
    return SessionHolder(int(s["id"]), mode, s.get("user"), s.get("host"), s.get("db"), s.get("command"),
                         s.get("state"), s.get("query"), int(s["time"]) if s.get("time") is not None else None,
                         int(age) if age is not None else None, waits_for)


async def _locked(observer: Any, schema: str, table: str, kind: str = "WRITE") -> bool:
    """MariaDB's ``LOCK TABLES … WRITE NOWAIT``: refused at once when any session holds a
    metadata lock on the table (nothing queues behind it); when granted, released at once.
    ``READ``: refused only when a session writes it (its readers are compatible)."""
    import asyncmy.errors

    try:
        await observer.execute(f"LOCK TABLES {quote_ident(schema)}.{quote_ident(table)} {kind} NOWAIT")
    except asyncmy.errors.Error as exc:
        if exc.args[:1] == (_LOCK_WAIT_TIMEOUT,):
            return True
        if exc.args[:1] == (_NO_SUCH_TABLE,):  # no table, no holder: the statement fails on its own
            return False
        raise
    await observer.execute("UNLOCK TABLES")
    return False
