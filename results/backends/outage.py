"""Riding through a database outage: the backend's queries retried, within a bound.

A database restarts, fails over, drops a connection or (SQLite) stays
locked longer than the busy timeout. A worker that gave up at the first
error would lose the result it was storing, and Celery would acknowledge
the message all the same. Instead, every query the backend makes is
retried on a fresh connection, with Celery's exponential backoff
(``result_backend_base_sleep_between_retries_ms`` and
``result_backend_max_sleep_between_retries_ms``), for at most
``DJANGO_CELERY_RESULTS["OUTAGE_TIMEOUT"]`` seconds (60 by default). After
that the error is raised as ``DatabaseUnavailable``; in a worker the
backend turns it into a rejection that puts the message back on the queue
(with ``acks_late``), so the task runs again rather than being lost.

Only errors that say "the database is not there right now" are retried:
a lost or refused connection, a server shutting down, a lock or deadlock
the server gave up on. A missing table or a value the column refuses is
a bug, and is raised at once. Nothing is retried inside a transaction the
caller holds: it died with its connection, and only the caller can redo it.
"""
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from functools import wraps
from typing import TypeVar

from celery.utils.log import get_logger
from celery.utils.time import get_exponential_backoff_interval
from django.db import Error, InterfaceError, OperationalError, connections

from ..conf import outage_timeout, slow_write_seconds

logger = get_logger(__name__)

T = TypeVar("T")

#: PostgreSQL SQLSTATE classes and codes of an outage: connection exceptions
#: (08), operator intervention such as a shutdown (57), insufficient
#: resources such as too many connections (53), and the server giving up a
#: lock: serialization failure, deadlock, lock not available.
POSTGRESQL_OUTAGE_CLASSES = {"08", "53", "57"}
POSTGRESQL_OUTAGE_CODES = {"40001", "40P01", "55P03"}

#: MySQL/MariaDB error codes of an outage: too many connections, server
#: shutdown, lock wait timeout, deadlock, connection killed, cannot connect,
#: server gone away, connection lost, disconnected for inactivity.
MYSQL_OUTAGE_CODES = {1040, 1053, 1205, 1213, 1927, 2002, 2003, 2006, 2013, 2055, 4031}


class DatabaseUnavailable(OperationalError):
    """The database stayed unreachable (or locked) for longer than ``OUTAGE_TIMEOUT``."""


def is_outage(exc: BaseException) -> bool:
    """Does ``exc`` say the database is unreachable or busy for now, rather than that the query is wrong?"""
    if isinstance(exc, InterfaceError):
        return True
    if not isinstance(exc, OperationalError):
        return False
    cause = exc.__cause__
    module = type(cause).__module__ if cause is not None else ""
    if module.startswith("psycopg"):
        sqlstate = getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)
        return sqlstate is None or sqlstate[:2] in POSTGRESQL_OUTAGE_CLASSES or sqlstate in POSTGRESQL_OUTAGE_CODES
    if module.startswith(("pymysql", "MySQLdb")):
        code = cause.args[0] if cause.args and isinstance(cause.args[0], int) else None
        return code in MYSQL_OUTAGE_CODES
    if module.startswith("sqlite3"):
        message = str(cause).lower()
        return "locked" in message or "busy" in message
    return True  # another database: an OperationalError is the DB-API's word for "not your query's fault"


def in_callers_transaction(aliases: Iterable[str]) -> bool:
    return any(connections[alias].in_atomic_block for alias in aliases)


def drop_connections(aliases: Iterable[str]) -> None:
    """Close the backend's connections, so that the next query opens a new one instead of failing on a dead one."""
    for alias in aliases:
        with suppress(Error):  # closing a dead connection can fail too; it is gone either way
            connections[alias].close()


def retry_through_outage(operation: Callable[..., T]) -> Callable[..., T]:
    """Retry the decorated backend method through a database outage, for at most ``OUTAGE_TIMEOUT`` seconds.

    The backend's ``exception_safe_to_retry`` (Celery's hook) decides which
    errors are an outage, and drops the dead connections; its
    ``outage_backoff`` says how long to wait.
    """

    @wraps(operation)
    def retrying(backend, *args, **kwargs):
        deadline = None
        attempt = 0
        while True:
            try:
                return operation(backend, *args, **kwargs)
            except Error as exc:  # InterfaceError is not a DatabaseError
                if not backend.exception_safe_to_retry(exc):
                    raise
                now = time.monotonic()
                if deadline is None:
                    deadline = now + outage_timeout()
                left = deadline - now
                if left <= 0:
                    raise DatabaseUnavailable(
                        f"The database was unavailable for more than {outage_timeout()} s "
                        f"({attempt + 1} attempts of {operation.__name__}): {exc}"
                    ) from exc
                attempt += 1
                pause = min(left, backend.outage_backoff(attempt))
                logger.warning(
                    "Database unavailable in %s (%s: %s); attempt %d failed, retrying in %.2f s "
                    "(giving up in %.0f s).",
                    operation.__name__, type(exc).__name__, str(exc).strip(), attempt, pause, left,
                )
                time.sleep(pause)

    return retrying


def backoff_seconds(base_ms: int, attempt: int, max_ms: int) -> float:
    """Celery's exponential backoff with full jitter, in seconds."""
    return get_exponential_backoff_interval(base_ms, attempt, max_ms, True) / 1000


#: The text of ``timed_write``'s warning, up to the figures: what a log reader (``bench/soak.py``) looks for.
SLOW_WRITE_MESSAGE = "Slow result write"


@contextmanager
def timed_write(what: str) -> Iterator[None]:
    """Warn when the write inside took longer than ``SLOW_WRITE_SECONDS``: it waited for the database.

    The time covers the whole write, retries through an outage included:
    how long the worker was held up before its result was stored. Two
    clock reads per write; nothing is logged for a write that was quick.
    """
    started = time.monotonic()
    try:
        yield
    finally:
        took = time.monotonic() - started
        threshold = slow_write_seconds()
        if threshold and took >= threshold:
            logger.warning("%s: %s took %.3f s (waiting for the database).", SLOW_WRITE_MESSAGE, what, took)
