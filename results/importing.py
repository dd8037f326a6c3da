"""Copying django-celery-results' stored results into this app's tables (``manage.py import_celery_results``).

The reference's tables are read by name (``django_celery_results_*``), so
it need not be installed; they may live in this app's database or another
one (``source``, a database alias). Rows are copied in batches of
consecutive ids and upserted by their natural key (``task_id``,
``group_id``), never by id:

- an id is only where a row happened to be stored: this app's own rows,
  written since the switch, have ids of their own that the reference's may
  collide with, and copying ids over them would overwrite other tasks;
- a task id is what a result is, for Celery and for the people reading it.

So a re-run after an interruption (or a second run) adds nothing twice and
loses nothing, and a result stored in both places keeps the newer copy (the
later ``date_done``): the reference's table may still be written while both
run side by side. A chord counter present in both keeps this app's, which
the workers are counting on now.
"""
import queue
import threading
from dataclasses import dataclass

from django.db import connections, router, transaction

from .models import ChordCounter, GroupResult, TaskResult

#: Source rows read (or copied by one statement) at once.
BATCH_SIZE = 5_000
#: Rows per statement when the source is another database (its rows go through this process).
VALUES_PER_STATEMENT = 1_000
#: Batches copied at once, each by a thread on its own connection.
WORKERS = 2


@dataclass(frozen=True)
class Table:
    """One of the reference's tables and where its rows go."""

    name: str  # the reference's table
    model: type
    natural_key: str
    newer: str | None  # the column telling the newer of two copies; None: the copy already here is kept

    @property
    def label(self):
        return self.model._meta.verbose_name_plural


TABLES = (
    Table("django_celery_results_taskresult", TaskResult, "task_id", "date_done"),
    Table("django_celery_results_groupresult", GroupResult, "group_id", "date_done"),
    Table("django_celery_results_chordcounter", ChordCounter, "group_id", None),
)


class SourceMissing(Exception):
    """None of the reference's tables is in the source database."""


@dataclass
class Copied:
    table: Table
    rows: int  # source rows read
    total: int  # source rows at the start


class Importer:
    """Copy the reference's tables from database ``source`` into this app's (``target``)."""

    def __init__(self, source="default", target=None, batch_size=BATCH_SIZE, workers=WORKERS):
        self.source = source
        self.target = target or router.db_for_write(TaskResult)
        self.batch_size = batch_size
        self.workers = workers
        self.same_database = connections[source].settings_dict == connections[self.target].settings_dict

    def present(self):
        """The reference's tables the source database holds; ``SourceMissing`` when it holds none."""
        connection = connections[self.source]
        with connection.cursor() as cursor:
            names = set(connection.introspection.table_names(cursor))
        tables = [table for table in TABLES if table.name in names]
        if not tables:
            raise SourceMissing(
                f"No table of django-celery-results in database {self.source!r} "
                f"({', '.join(table.name for table in TABLES)}): nothing to import. "
                "Name the database that holds them with --database."
            )
        return tables

    def count(self, table):
        with connections[self.source].cursor() as cursor:
            cursor.execute(f"SELECT COUNT(*) FROM {self._quote_source(table.name)}")
            return cursor.fetchone()[0]

    def copy(self, table, progress=None):
        """Copy ``table`` batch by batch; ``progress(rows read so far)`` after each batch.

        With ``workers`` above one (not on SQLite, which writes one
        transaction at a time), that many threads copy batches at once, each
        on its own connection: the inserts' index upkeep, which is most of the
        work, then runs on as many cores. Each batch is its own transaction,
        so whichever batches an interruption leaves undone, a re-run does them.
        """
        total = self.count(table)
        columns = self._columns(table)
        batches, after = [], None
        while (bounds := self._next_batch(table, after)) is not None:
            rows, last = bounds
            batches.append((after, last, rows))
            after = last
        workers = 1 if connections[self.target].vendor == "sqlite" else min(self.workers, len(batches))
        done = _Done(progress)
        if workers <= 1:
            for after, last, rows in batches:
                self._copy_batch(table, columns, after, last)
                done.add(rows)
        else:
            _in_threads(workers, batches, lambda batch: (self._copy_batch(table, columns, *batch[:2]),
                                                         done.add(batch[2])))
        return Copied(table, done.rows, total)

    def _copy_batch(self, table, columns, after, last):
        with transaction.atomic(using=self.target):
            if self.same_database:
                self._copy_in_database(table, columns, after, last)
            else:
                self._copy_across(table, columns, after, last)

    # --- reading the source ---------------------------------------------------------

    def _columns(self, table):
        """``[(target column, source column or None)]``: what each of this app's columns is copied from.

        A column older releases of the reference lack (``periodic_task_name``,
        ``date_started``...) is left to its default; ``id`` is never copied.
        """
        connection = connections[self.source]
        with connection.cursor() as cursor:
            present = {column.name for column in connection.introspection.get_table_description(cursor, table.name)}
        for required in ("id", table.natural_key):
            if required not in present:
                raise SourceMissing(f"{table.name} has no {required} column: it is not django-celery-results' table.")
        return [
            (field, field.column if field.column in present else None)
            for field in table.model._meta.concrete_fields if not field.primary_key
        ]

    def _next_batch(self, table, after):
        """``(rows, last id)`` of the next ``batch_size`` source rows after id ``after``; None at the end."""
        where, params = ("WHERE id > %s", [after]) if after is not None else ("", [])
        with connections[self.source].cursor() as cursor:
            cursor.execute(
                f"SELECT COUNT(*), MAX(id) FROM (SELECT id FROM {self._quote_source(table.name)} {where}"
                f" ORDER BY id LIMIT %s) batch",
                [*params, self.batch_size],
            )
            rows, last = cursor.fetchone()
        return (rows, last) if rows else None

    def _quote_source(self, name):
        return connections[self.source].ops.quote_name(name)

    # --- writing -------------------------------------------------------------------

    def _copy_in_database(self, table, columns, after, last):
        """One ``INSERT ... SELECT`` of the batch, upserted by the natural key: nothing goes through Python."""
        connection = connections[self.target]
        quote = connection.ops.quote_name
        selected, params = [], []
        for field, source_column in columns:
            if source_column is None:
                selected.append("%s")
                params.append(_default(field, connection))
            else:
                selected.append(f"s.{quote(source_column)}")
        lower, lower_params = ("s.id > %s AND ", [after]) if after is not None else ("", [])
        sql = (
            f"INSERT INTO {quote(table.model._meta.db_table)} ({', '.join(quote(f.column) for f, _c in columns)})"
            f" SELECT {', '.join(selected)} FROM {quote(table.name)} s WHERE {lower}s.id <= %s ORDER BY s.id"
            f" {self._on_conflict(table, columns)}"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [*params, *lower_params, last])

    def _copy_across(self, table, columns, after, last):
        """The batch read from the source database, then written here by multi-row upserts."""
        source = connections[self.source]
        quote_source = source.ops.quote_name
        read = [quote_source(source_column) for _field, source_column in columns if source_column is not None]
        lower, lower_params = ("id > %s AND ", [after]) if after is not None else ("", [])
        with source.cursor() as cursor:
            cursor.execute(
                f"SELECT {', '.join(read)} FROM {quote_source(table.name)} WHERE {lower}id <= %s ORDER BY id",
                [*lower_params, last],
            )
            fetched = cursor.fetchall()
        target = connections[self.target]
        quote = target.ops.quote_name
        defaults = [_default(field, target) for field, _c in columns]
        rows = []
        for values in fetched:
            values = iter(values)
            rows.append([
                _stored(field, next(values), source, target) if source_column is not None else default
                for (field, source_column), default in zip(columns, defaults, strict=True)
            ])
        placeholder = "(" + ", ".join(["%s"] * len(columns)) + ")"
        head = f"INSERT INTO {quote(table.model._meta.db_table)} ({', '.join(quote(f.column) for f, _c in columns)})"
        tail = self._on_conflict(table, columns)
        with target.cursor() as cursor:
            for start in range(0, len(rows), VALUES_PER_STATEMENT):
                chunk = rows[start:start + VALUES_PER_STATEMENT]
                cursor.execute(f"{head} VALUES {', '.join([placeholder] * len(chunk))} {tail}",
                               [value for row in chunk for value in row])

    def _on_conflict(self, table, columns):
        """The upsert on the natural key: the newer copy wins (``table.newer``), else the one already here."""
        connection = connections[self.target]
        quote = connection.ops.quote_name
        key, target_table = quote(table.natural_key), quote(table.model._meta.db_table)
        updated = [quote(field.column) for field, _c in columns if field.column != table.natural_key]
        if connection.vendor == "mysql":
            # The row here is named by its table: after INSERT ... SELECT a bare column would be ambiguous.
            here = {c: f"{target_table}.{c}" for c in [key, *updated]}
            if table.newer is None:
                return f"ON DUPLICATE KEY UPDATE {here[key]} = {here[key]}"  # keep the row here
            newer = quote(table.newer)
            # Assigned in order: the column telling which copy is newer goes last, once the others were compared.
            assignments = [f"{here[c]} = IF(VALUES({newer}) > {here[newer]}, VALUES({c}), {here[c]})"
                           for c in updated if c != newer]
            assignments.append(f"{here[newer]} = GREATEST({here[newer]}, VALUES({newer}))")
            return "ON DUPLICATE KEY UPDATE " + ", ".join(assignments)
        if table.newer is None:
            return f"ON CONFLICT ({key}) DO NOTHING"
        newer = quote(table.newer)
        return (f"ON CONFLICT ({key}) DO UPDATE SET " + ", ".join(f"{c} = EXCLUDED.{c}" for c in updated)
                + f" WHERE {target_table}.{newer} < EXCLUDED.{newer}")


class _Done:
    """Rows copied so far, counted from any thread; ``progress`` told after each batch."""

    def __init__(self, progress):
        self.rows, self.progress, self.lock = 0, progress, threading.Lock()

    def add(self, rows):
        with self.lock:
            self.rows += rows
            if self.progress is not None:
                self.progress(self.rows)


def _in_threads(workers, items, work):
    """``work(item)`` for every item, by ``workers`` threads; the first error stops them and is raised here."""
    pending = queue.SimpleQueue()
    for item in items:
        pending.put(item)
    errors = []

    def worker():
        try:
            while not errors:
                try:
                    item = pending.get_nowait()
                except queue.Empty:
                    return
                work(item)
        except BaseException as error:  # raised again in the calling thread
            errors.append(error)
        finally:
            connections.close_all()  # this thread's own connections

    threads = [threading.Thread(target=worker, name=f"import-{n}") for n in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


def _default(field, connection):
    """What a column the source lacks is given: NULL where it may be, else the field's default."""
    if field.null:
        return None
    return field.get_db_prep_save(field.get_default(), connection)


def _stored(field, value, source, target):
    """A value read from the source database as the target stores it (datetimes differ between vendors)."""
    if value is None or field.get_internal_type() != "DateTimeField":
        return value
    column = field.cached_col  # what the converters read the column's type from
    for converter in source.ops.get_db_converters(column):
        value = converter(value, column, source)
    return field.get_db_prep_save(value, target)
