"""Managers of the result models: retried writes, upserts, expiry.

Celery workers write results concurrently and databases fail transiently
(a dropped connection, a deadlock victim, a locked SQLite file), so every
write goes through ``transaction_retry``. A write is one upsert statement:
no read-then-save race between two workers storing the same task, and
half the round trips of the reference implementation.
"""
import warnings
from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from itertools import count
from typing import TYPE_CHECKING, Any, TypeVar

from celery import states
from celery.utils.time import maybe_timedelta
from django.conf import settings
from django.db import DatabaseError, connections, models, router, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.constants import OnConflict

from .utils import now

if TYPE_CHECKING:
    from .models import GroupResult, TaskResult

T = TypeVar("T")

DELETE_BATCH_SIZE = 10_000

#: States that a later write of the same task always replaces: a task that
#: started (or is waiting to retry) will store its next state. On PostgreSQL
#: they are committed asynchronously (``synchronous_commit = off`` for that
#: transaction only): the write is visible at once, but the server does not
#: wait for the disk, which halves the flushes a tracked task costs. A server
#: crash can lose only the last fraction of a second of such writes, never
#: a ready state, and never corrupts anything.
TRANSIENT_STATES = frozenset({states.STARTED, states.RETRY})

W_ISOLATION_REP = (
    "The database's transaction isolation level is REPEATABLE-READ: a "
    "worker polling for a result inside one transaction will keep seeing "
    "the snapshot taken at its first read and never see the result arrive. "
    "Set the isolation level to READ COMMITTED (Django's default for MySQL "
    "connections; check the OPTIONS['isolation_level'] of the database)."
)


class TxIsolationWarning(UserWarning):
    """The database's isolation level hides results written by other transactions."""


def transaction_retry(max_retries: int = 1) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """Retry the decorated call when it raises a database error.

    The call runs at most ``max_retries + 1`` times; a caller may override
    the count with ``exception_retry_count=N``, which is removed from the
    keyword arguments before the call. Errors that are not database errors
    (such as a value that is too long) are never retried.
    """

    def decorator(fun):
        @wraps(fun)
        def retrying(*args, **kwargs):
            retries_allowed = kwargs.pop("exception_retry_count", max_retries)
            for attempt in count():
                try:
                    return fun(*args, **kwargs)
                except DatabaseError:
                    if attempt >= retries_allowed:
                        raise

        return retrying

    return decorator


def check_lengths(instance: models.Model) -> None:
    """Refuse text that a bounded column would truncate or reject.

    SQLite would store it whole and PostgreSQL would fail mid-transaction;
    a clear error before anything is written is better than either.
    """
    for field in instance._meta.concrete_fields:
        if not isinstance(field, models.CharField) or not field.max_length:
            continue
        value = getattr(instance, field.attname)
        if value is not None and len(str(value)) > field.max_length:
            raise ValueError(
                f"{field.name} is {len(str(value))} characters long; "
                f"{instance._meta.label}.{field.name} holds at most {field.max_length}."
            )


def check_id(key: str, value: object) -> None:
    """Refuse an empty task or group id before anything is written.

    A row with an empty id cannot be linked to, looked up by URL or told
    apart from "no id"; Celery never generates one, so it is always a bug
    of the caller.
    """
    if value is None or not str(value).strip():
        raise ValueError(f"{key} must not be empty (got {value!r}).")


class ResultManager(models.Manager):
    """Behaviour shared by the task and group result managers.

    Every method runs on the manager's own database when it has one
    (``db_manager(alias)``), and asks the router only otherwise, as Django's
    own managers do.
    """

    def db_for_write(self) -> str:
        """The alias writes go to: the manager's own (``db_manager``), else the router's."""
        return self._db or router.db_for_write(self.model, **self._hints)

    def connection_for_write(self) -> BaseDatabaseWrapper:
        return connections[self.db_for_write()]

    def connection_for_read(self) -> BaseDatabaseWrapper:
        return connections[self.db]

    def current_engine(self) -> str:
        return settings.DATABASES[self.db]["ENGINE"]

    def get_all_expired(self, expires: float | timedelta) -> models.QuerySet:
        """Rows whose ``date_done`` is older than now minus ``expires`` (seconds or timedelta)."""
        return self.filter(date_done__lt=now() - maybe_timedelta(expires))

    def delete_expired(self, expires: float | timedelta, batch_size: int = DELETE_BATCH_SIZE) -> int:
        """Delete expired rows in primary-key batches; return how many went.

        Each batch is its own short transaction, so memory stays bounded and
        concurrent writers are never blocked for long, however many rows
        have expired. The cut-off is fixed once, at the start.
        """
        db = self.db_for_write()
        expired = self.get_all_expired(expires).using(db).order_by("pk")
        deleted = 0
        while True:
            with transaction.atomic(using=db):
                batch = list(expired.values_list("pk", flat=True)[:batch_size])
                if not batch:
                    return deleted
                count_, _ = self.using(db).filter(pk__in=batch).delete()
            deleted += count_

    def warn_if_repeatable_read(self) -> None:
        """On MySQL/MariaDB, warn when the session isolation is REPEATABLE-READ."""
        if "mysql" not in self.current_engine().lower():
            return
        with self.connection_for_read().cursor() as cursor:
            cursor.execute(
                "SHOW VARIABLES WHERE variable_name IN ('tx_isolation', 'transaction_isolation')"
            )
            row = cursor.fetchone()
        if row and row[1] == "REPEATABLE-READ":
            warnings.warn(TxIsolationWarning(W_ISOLATION_REP), stacklevel=2)

    def _get_or_unsaved(self, key, value):
        """The stored row for ``key=value``, else an unsaved instance.

        Missing the same id twice in a row is the symptom of a REPEATABLE-READ
        snapshot hiding a result another worker wrote, hence the check.
        """
        try:
            return self.get(**{key: value})
        except self.model.DoesNotExist:
            if self._last_id == value:
                self.warn_if_repeatable_read()
            self._last_id = value
            return self.model(**{key: value})

    def _upsert(self, using, key, value, fields, durable=True):
        """Insert the row for ``key=value`` or update ``fields`` of it, in one statement.

        The statement is sent on its own, in autocommit mode: one round trip
        and one commit, where ``bulk_create`` would wrap it in a transaction
        of its own (two more round trips for every result a worker stores).
        ``durable=False`` allows PostgreSQL to commit it asynchronously (see
        ``TRANSIENT_STATES``), unless the caller is inside a transaction.
        ``date_done`` is refreshed on every write; ``date_created`` keeps its
        first value, so it is left unloaded on the returned instance and read
        from the database only if asked for.
        """
        check_id(key, value)
        instance = self.model(**{key: value}, **fields)
        check_lengths(instance)
        db = using or self._db or router.db_for_write(self.model, instance=instance)
        connection = connections[db]
        if durable or connection.vendor != "postgresql" or not connection.get_autocommit():
            rows = self._insert_or_update(db, instance, key, fields)
        else:
            with transaction.atomic(using=db):
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL synchronous_commit TO OFF")
                rows = self._insert_or_update(db, instance, key, fields)
        if rows:
            for field, column_value in zip(self.model._meta.db_returning_fields, rows[0], strict=True):
                setattr(instance, field.attname, column_value)
        else:
            instance.pk = self.using(db).filter(**{key: value}).values_list("pk", flat=True).get()
        instance._state.adding = False
        instance._state.db = db
        del instance.date_created
        return instance

    def _insert_or_update(self, db, instance, key, fields):
        """``INSERT ... ON CONFLICT DO UPDATE`` (or its MySQL form); the returned columns, if any."""
        features = connections[db].features
        opts = self.model._meta
        return self.using(db)._insert(
            [instance],
            fields=[field for field in opts.concrete_fields if not field.primary_key],
            returning_fields=opts.db_returning_fields if features.can_return_rows_from_bulk_insert else None,
            using=db,
            on_conflict=OnConflict.UPDATE,
            update_fields=[opts.get_field(name) for name in (*fields, "date_done")],
            unique_fields=[opts.get_field(key)] if features.supports_update_conflicts_with_target else None,
        )


class TaskResultManager(ResultManager):
    """Manager of ``TaskResult``: what the database backend calls."""

    _last_id = None

    def get_task(self, task_id: str) -> "TaskResult":
        """The stored result of ``task_id``, or an unsaved PENDING one."""
        return self._get_or_unsaved("task_id", task_id)

    @transaction_retry(max_retries=2)
    def store_result(
        self,
        content_type: str,
        content_encoding: str,
        task_id: str,
        result: str | None,
        status: str,
        traceback: str | None = None,
        meta: str | None = None,
        periodic_task_name: str | None = None,
        task_name: str | None = None,
        task_args: str | None = None,
        task_kwargs: str | None = None,
        worker: str | None = None,
        using: str | None = None,
        **kwargs: Any,
    ) -> "TaskResult":
        """Create or update the result of ``task_id`` and return it.

        Every field is overwritten, as a new state replaces the old one;
        ``date_started`` only when given (``kwargs['date_started']``), so a
        finished task keeps the time it started. STARTED and RETRY are
        committed asynchronously on PostgreSQL (see ``TRANSIENT_STATES``).
        """
        fields = {
            "status": status,
            "result": result,
            "traceback": traceback,
            "meta": meta,
            "content_encoding": content_encoding,
            "content_type": content_type,
            "periodic_task_name": periodic_task_name,
            "task_name": task_name,
            "task_args": task_args,
            "task_kwargs": task_kwargs,
            "worker": worker,
        }
        if "date_started" in kwargs:
            fields["date_started"] = kwargs["date_started"]
        return self._upsert(using, "task_id", task_id, fields, durable=status not in TRANSIENT_STATES)


class GroupResultManager(ResultManager):
    """Manager of ``GroupResult``."""

    _last_id = None

    def get_group(self, group_id: str) -> "GroupResult":
        """The stored result of ``group_id``, or an unsaved one."""
        return self._get_or_unsaved("group_id", group_id)

    @transaction_retry(max_retries=2)
    def store_group_result(
        self, content_type: str, content_encoding: str, group_id: str, result: str | None, using: str | None = None
    ) -> "GroupResult":
        """Create or update the result of ``group_id`` and return it."""
        fields = {
            "result": result,
            "content_encoding": content_encoding,
            "content_type": content_type,
        }
        return self._upsert(using, "group_id", group_id, fields)
