"""The :class:`Store`: one database (embedded SQLite file or PostgreSQL), its transactions and migrations.

SQLite is opened in WAL mode with foreign keys on, ``synchronous=FULL`` (a committed answer survives a
crash or power loss) and a busy timeout. psyscore takes over pysqlite's transaction control as
SQLAlchemy documents it (``isolation_level = None`` on connect, our own ``BEGIN`` in the ``begin``
event), so that writes run in ``BEGIN IMMEDIATE`` transactions: the write lock is taken at the start,
never upgraded half-way (which can fail with SQLITE_BUSY), and waiting writers queue on the busy timeout.
Reads use a plain deferred ``BEGIN`` and see a consistent snapshot.

PostgreSQL is used through psycopg 3 (``postgresql+psycopg://…``); rows that a transaction changes are
locked with ``SELECT … FOR UPDATE`` where two transactions could race.
"""

from __future__ import annotations

import os
import re
import sqlite3
import stat
import subprocess
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker

from scoring.store.errors import SchemaError, StoreError

ENV_DATABASE_URL = "PSYSCORE_DATABASE_URL"
DEFAULT_DATA_DIR = Path("data")
DEFAULT_DB_FILE = "psyscore.db"
BUSY_TIMEOUT_S = 30.0
MIGRATIONS = "scoring.store:migrations"


def default_url(environ: dict[str, str] | None = None, cwd: Path | None = None) -> str:
    """The database URL: ``PSYSCORE_DATABASE_URL`` if set, else ``./data/psyscore.db`` (embedded SQLite)."""
    env = os.environ if environ is None else environ
    url = env.get(ENV_DATABASE_URL, "").strip()
    if url:
        return url
    base = cwd or Path.cwd()
    return f"sqlite:///{(base / DEFAULT_DATA_DIR / DEFAULT_DB_FILE).as_posix()}"


def normalize_url(url: str | Path) -> str:
    """Accept a SQLAlchemy URL or a plain file path (``clinic.db`` → ``sqlite:///clinic.db``).

    ``postgresql://`` and ``postgres://`` are read as psycopg 3 (``postgresql+psycopg://``).
    """
    raw = str(url).strip()
    if "://" not in raw:
        return f"sqlite:///{Path(raw).expanduser().as_posix()}"
    if raw.startswith("postgres://"):
        raw = "postgresql://" + raw[len("postgres://"):]
    if raw.startswith("postgresql://"):
        raw = "postgresql+psycopg://" + raw[len("postgresql://"):]
    return raw


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Store:
    """A connection to one clinic database. Pass it explicitly; there is no global store.

    Parameters
    ----------
    url
        SQLAlchemy URL or a file path; default :func:`default_url` (``PSYSCORE_DATABASE_URL`` or
        ``./data/psyscore.db``).
    clock
        Returns the current time as an aware UTC datetime (tests and the demo pass their own).
    pool_size
        Connections kept open (threads that use the store at once).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     with Store(pathlib.Path(tmp) / "clinic.db") as store:
    ...         store.upgrade()
    ...         store.schema_is_current()
    True
    """

    def __init__(self, url: str | Path | None = None, *, clock: Callable[[], datetime] | None = None,
                 pool_size: int = 10, echo: bool = False) -> None:
        self.url: URL = make_url(normalize_url(url if url is not None else default_url()))
        self.clock = clock or _utcnow
        self.engine: Engine = self._create_engine(pool_size, echo)
        self._writer = self.engine.execution_options(psyscore_begin="IMMEDIATE")
        self._read_sessions = sessionmaker(self.engine, expire_on_commit=False)
        # SQLite has one writer at a time; threads of this process queue on a lock (prompt hand-over)
        # instead of SQLite's busy handler, which sleeps up to 100 ms between retries. Other processes
        # still wait on the busy timeout.
        self._write_lock = threading.Lock() if self.dialect == "sqlite" else None
        self._write_sessions = sessionmaker(self._writer, expire_on_commit=False)
        self._secret_key: bytes | None = None

    # -- engine ---------------------------------------------------------------------------------------------
    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    @property
    def sqlite_path(self) -> Path | None:
        """The database file of an embedded store (None for PostgreSQL or an in-memory database)."""
        if self.dialect != "sqlite" or not self.url.database or self.url.database == ":memory:":
            return None
        return Path(self.url.database)

    def _create_engine(self, pool_size: int, echo: bool) -> Engine:
        if self.url.get_backend_name() == "sqlite":
            path = self.url.database
            if not path or path == ":memory:":
                raise StoreError("an in-memory SQLite database cannot be shared by connections; give a file")
            folder = Path(path).expanduser().resolve().parent
            if not folder.exists():
                folder.mkdir(parents=True, mode=0o700)
            if not Path(path).expanduser().exists():  # a new database file is private (SQLite gives -wal/-shm
                _create_private_file(Path(path).expanduser())  # the same mode)
            engine = create_engine(self.url, echo=echo, pool_size=pool_size, max_overflow=pool_size,
                                   connect_args={"timeout": BUSY_TIMEOUT_S})
            event.listen(engine, "connect", _sqlite_on_connect)
            event.listen(engine, "begin", _sqlite_on_begin)
            return engine
        if self.url.get_backend_name() == "postgresql":
            return create_engine(self.url, echo=echo, pool_size=pool_size, max_overflow=pool_size,
                                 pool_pre_ping=True)
        raise StoreError(f"unsupported database {self.url.get_backend_name()!r}: use sqlite or postgresql")

    def secret_key(self) -> bytes:
        """The server secret for short-code hashes (read once; see :func:`~scoring.store.security.load_secret_key`).

        SQLite: ``<database>.key`` next to the database file unless ``PSYSCORE_SECRET_KEY(_FILE)`` is set.
        PostgreSQL: ``$XDG_DATA_HOME/psyscore/keys/<host-port-database>.key`` (``~/.local/share`` by default)
        of the user running psyscore, unless set — run the app and the CLI as one user or set the variable.
        """
        if self._secret_key is None:
            from scoring.store.security import load_secret_key

            path = self.sqlite_path
            if path is not None:
                default = path.with_name(path.name + ".key")
            else:
                base = Path(os.environ.get("XDG_DATA_HOME", "").strip() or Path.home() / ".local" / "share")
                where = f"{self.url.host or 'local'}-{self.url.port or 5432}-{self.url.database or 'postgres'}"
                default = base / "psyscore" / "keys" / (re.sub(r"[^A-Za-z0-9._-]", "_", where) + ".key")
            self._secret_key = load_secret_key(default)
        return self._secret_key

    def now(self) -> datetime:
        """The store's clock (aware UTC)."""
        value = self.clock()
        if value.tzinfo is None:
            raise StoreError("the store's clock must return timezone-aware datetimes")
        return value.astimezone(UTC)

    # -- transactions ---------------------------------------------------------------------------------------
    @contextmanager
    def write(self) -> Iterator[Session]:
        """A write transaction (``BEGIN IMMEDIATE`` on SQLite), committed when the block ends without error.

        Everything done in the block — the change and its audit row — commits or rolls back together.
        """
        if self._write_lock is None:
            with self._write_sessions() as session, session.begin():
                yield session
            return
        if not self._write_lock.acquire(timeout=BUSY_TIMEOUT_S):
            raise StoreError("the database is busy (another write has not finished); try again")
        try:
            with self._write_sessions() as session, session.begin():
                yield session
        finally:
            self._write_lock.release()

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read transaction (a deferred ``BEGIN`` on SQLite: a consistent snapshot without the write lock).

        Objects loaded in it stay readable after the block (nothing is expired).
        """
        with self._read_sessions() as session, session.begin():
            yield session

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Store {self.url.render_as_string(hide_password=True)}>"

    # -- schema ---------------------------------------------------------------------------------------------
    def _alembic_config(self, connection: Any) -> Any:
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", MIGRATIONS)
        cfg.attributes["connection"] = connection
        return cfg

    def upgrade(self, revision: str = "head") -> None:
        """Create or migrate the schema to ``revision`` (the latest by default). Safe to repeat.

        On SQLite the migrations run with foreign keys off — a batch-mode table rebuild would otherwise cascade
        into the rows that refer to the rebuilt table — and every reference is checked before the commit.
        """
        from alembic import command

        if self.dialect != "sqlite":
            with self.engine.begin() as conn:
                command.upgrade(self._alembic_config(conn), revision)
            return
        with self.engine.connect() as conn:
            raw = conn.connection.dbapi_connection
            if raw is None:  # pragma: no cover - an open connection has its DBAPI connection
                raise SchemaError("the database connection closed before the upgrade")
            raw.execute("PRAGMA foreign_keys = OFF")  # outside a transaction: SQLite ignores it inside one
            try:
                with conn.begin():
                    command.upgrade(self._alembic_config(conn), revision)
                    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        table, row, parent = broken[0][:3]
                        raise SchemaError(f"the upgrade to {revision} would leave {len(broken)} broken references "
                                          f"(first: {table} row {row} → {parent}); nothing was changed")
            finally:
                raw.execute("PRAGMA foreign_keys = ON")

    def current_revision(self) -> str | None:
        """The schema revision of the database (None when it is not initialised)."""
        from alembic.runtime.migration import MigrationContext

        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def head_revision(self) -> str:
        """The schema revision this version of psyscore expects."""
        from alembic.script import ScriptDirectory

        with self.engine.connect() as conn:
            head = ScriptDirectory.from_config(self._alembic_config(conn)).get_current_head()
        if head is None:  # pragma: no cover - the package ships migrations
            raise SchemaError("no migrations found")
        return head

    def schema_is_current(self) -> bool:
        return self.current_revision() == self.head_revision()

    def is_empty(self) -> bool:
        """True when the database has no tables at all (a new file or an empty PostgreSQL database)."""
        with self.engine.connect() as conn:
            return not inspect(conn).get_table_names()

    def require_current(self) -> None:
        """Raise :class:`SchemaError` with what to do unless the schema is the one this psyscore expects."""
        current, head = self.current_revision(), self.head_revision()
        if current == head:
            return
        if current is None:
            raise SchemaError("the database is not initialised: run 'psyscore db init'")
        raise SchemaError(f"the database schema is at {current}, this psyscore needs {head}: back up the "
                          "database, then run 'psyscore db upgrade'")

    # -- backup ---------------------------------------------------------------------------------------------
    def backup(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Write an online, consistent backup to ``path`` with file mode 0600.

        SQLite: the SQLite backup API (copies pages while writers keep working; never a raw file copy).
        PostgreSQL: ``pg_dump --format=custom`` (restore with ``pg_restore -d DBNAME PATH``).
        """
        target = Path(path).expanduser()
        if target.exists() and not overwrite:
            raise StoreError(f"{target} exists; choose another path")
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            target.unlink()
        if self.dialect == "sqlite":
            _create_private_file(target)
            raw = self.engine.raw_connection()
            try:
                dest = sqlite3.connect(target)
                try:
                    raw.driver_connection.backup(dest)  # type: ignore[union-attr]
                finally:
                    dest.close()
            finally:
                raw.close()
            os.chmod(target, stat.S_IRUSR | stat.S_IWUSR)
            return target
        return self._pg_dump(target)

    def _pg_dump(self, target: Path) -> Path:
        url = self.url
        env = dict(os.environ)
        if url.password:
            env["PGPASSWORD"] = str(url.password)
        cmd = ["pg_dump", "--format=custom", "--no-owner", "-f", str(target)]
        for flag, value in (("-h", url.host), ("-p", url.port), ("-U", url.username)):
            if value:
                cmd += [flag, str(value)]
        cmd.append(url.database or "postgres")
        _create_private_file(target)
        try:
            proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
        except FileNotFoundError as exc:
            target.unlink(missing_ok=True)
            raise StoreError("pg_dump is not installed; install the PostgreSQL client tools, or back up with "
                             "'pg_dump --format=custom DBNAME > FILE' on the server") from exc
        if proc.returncode != 0:
            target.unlink(missing_ok=True)
            raise StoreError(f"pg_dump failed: {proc.stderr.strip()}")
        os.chmod(target, stat.S_IRUSR | stat.S_IWUSR)
        return target


def _create_private_file(target: Path) -> None:
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(fd)


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Take over transaction control from pysqlite (SQLAlchemy's documented recipe): no implicit BEGIN.
    dbapi_connection.isolation_level = None
    cur = dbapi_connection.cursor()
    try:
        cur.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA synchronous = FULL")
        cur.execute("PRAGMA foreign_keys = ON")
    finally:
        cur.close()


def _sqlite_on_begin(conn: Any) -> None:
    mode = conn.get_execution_options().get("psyscore_begin", "DEFERRED")
    conn.exec_driver_sql(f"BEGIN {mode}")


def file_mode(path: Path) -> int:
    """Permission bits of a file (0o600 for a backup)."""
    return stat.S_IMODE(path.stat().st_mode)
