"""The database backend rides through a database outage, within ``OUTAGE_TIMEOUT``, then says so loudly.

These tests run outside a transaction of the test's own (``transaction=True``):
a retry is never attempted inside a caller's transaction.
"""
import logging
import sqlite3
import threading
import time

import psycopg
import pymysql
import pytest
from celery import states
from celery.exceptions import Reject
from django.db import (
    IntegrityError,
    InterfaceError,
    OperationalError,
    ProgrammingError,
    connection,
    transaction,
)

from results.backends.outage import DatabaseUnavailable, is_outage
from results.models import TaskResult

from .helpers import end_database_session, make_request

pytestmark = pytest.mark.django_db(transaction=True)


def db_error(cls, cause):
    """A Django database error as Django raises it: the driver's error as its cause."""
    error = cls(*cause.args)
    error.__cause__ = cause
    return error


LOST = db_error(OperationalError, psycopg.OperationalError("server closed the connection unexpectedly"))


@pytest.mark.parametrize(
    "error, outage",
    [
        (InterfaceError("connection already closed"), True),
        (LOST, True),
        (db_error(OperationalError, psycopg.errors.AdminShutdown("terminating connection")), True),
        (db_error(OperationalError, psycopg.errors.DeadlockDetected("deadlock detected")), True),
        (db_error(OperationalError, psycopg.errors.QueryCanceled("canceling statement")), True),
        (db_error(ProgrammingError, psycopg.errors.UndefinedTable("no such relation")), False),
        (db_error(OperationalError, pymysql.err.OperationalError(2013, "Lost connection")), True),
        (db_error(OperationalError, pymysql.err.OperationalError(2003, "Can't connect")), True),
        (db_error(OperationalError, pymysql.err.OperationalError(1213, "Deadlock found")), True),
        (db_error(OperationalError, pymysql.err.OperationalError(1054, "Unknown column")), False),
        (db_error(OperationalError, sqlite3.OperationalError("database is locked")), True),
        (db_error(OperationalError, sqlite3.OperationalError("no such table: results_taskresult")), False),
        (db_error(IntegrityError, sqlite3.IntegrityError("UNIQUE constraint failed")), False),
        (ValueError("task_id is 300 characters long"), False),
    ],
    ids=lambda value: type(value).__name__ if not isinstance(value, bool) else str(value),
)
def test_what_counts_as_an_outage(error, outage):
    assert is_outage(error) is outage


@pytest.fixture
def outage_timeout(settings):
    def set_timeout(seconds):
        settings.DJANGO_CELERY_RESULTS = {**settings.DJANGO_CELERY_RESULTS, "OUTAGE_TIMEOUT": seconds}

    return set_timeout


@pytest.fixture
def backend(make_app):
    app = make_app(result_backend_base_sleep_between_retries_ms=5, result_backend_max_sleep_between_retries_ms=50)
    return app.backend


@pytest.fixture
def failing_store(monkeypatch):
    """Make ``store_result`` raise ``error`` for its first ``times`` calls; returns the list of calls."""
    calls = []

    def install(error, times):
        real = TaskResult.objects.store_result

        def store(*args, **kwargs):
            calls.append(time.monotonic())
            if len(calls) <= times:
                raise error
            return real(*args, **kwargs)

        monkeypatch.setattr(TaskResult.objects, "store_result", store)
        return calls

    return install


@pytest.mark.parametrize("error", [LOST, InterfaceError("connection already closed")], ids=["lost", "closed"])
def test_a_short_outage_is_ridden_through_without_any_setting(backend, failing_store, caplog, error):
    calls = failing_store(error, times=4)
    with caplog.at_level(logging.WARNING, logger="results.backends.outage"):
        backend.mark_as_done("t1", 5, request=make_request("t1"))
    assert len(calls) == 5
    assert TaskResult.objects.get(task_id="t1").status == states.SUCCESS
    assert caplog.text.count("Database unavailable") == 4


def test_a_longer_outage_in_a_worker_requeues_the_message(backend, failing_store, outage_timeout, caplog):
    outage_timeout(0.3)
    calls = failing_store(LOST, times=10**6)
    started = time.monotonic()
    with caplog.at_level(logging.ERROR), pytest.raises(Reject) as rejected:
        backend.mark_as_done("t1", 5, request=make_request("t1"))
    assert rejected.value.requeue is True
    assert isinstance(rejected.value.__cause__, DatabaseUnavailable)
    assert 0.3 <= time.monotonic() - started < 3 and len(calls) > 2
    assert "Could not store the SUCCESS result of task t1" in caplog.text and "requeued" in caplog.text
    assert not TaskResult.objects.filter(task_id="t1").exists()


def test_a_longer_outage_outside_a_worker_raises_database_unavailable(backend, failing_store, outage_timeout):
    outage_timeout(0.2)
    failing_store(LOST, times=10**6)
    with pytest.raises(DatabaseUnavailable, match="unavailable for more than 0.2 s"):
        backend.store_result("t1", 5, states.SUCCESS)
    with pytest.raises(DatabaseUnavailable):
        backend.mark_as_done("t1", 5, request=make_request("t1", is_eager=True))


def test_zero_timeout_tries_once(backend, failing_store, outage_timeout):
    outage_timeout(0)
    calls = failing_store(LOST, times=10**6)
    with pytest.raises(DatabaseUnavailable):
        backend.store_result("t1", 5, states.SUCCESS)
    assert len(calls) == 1


@pytest.fixture
def slow_write_seconds(settings):
    def set_threshold(seconds):
        settings.DJANGO_CELERY_RESULTS = {**settings.DJANGO_CELERY_RESULTS, "SLOW_WRITE_SECONDS": seconds}

    return set_threshold


def test_a_write_held_up_by_retries_says_how_long_it_took(backend, failing_store, slow_write_seconds, caplog):
    slow_write_seconds(0.02)
    failing_store(LOST, times=3)
    with caplog.at_level(logging.WARNING, logger="results.backends.outage"):
        backend.mark_as_done("t1", 5, request=make_request("t1"))
    [slow] = [record.getMessage() for record in caplog.records if record.getMessage().startswith("Slow result")]
    took = float(slow.rsplit(" took ", 1)[1].split(" s", 1)[0])
    assert "the SUCCESS result of task t1" in slow and took >= 0.02


def test_a_quick_write_logs_nothing_and_zero_turns_the_warning_off(backend, failing_store, slow_write_seconds, caplog):
    with caplog.at_level(logging.WARNING, logger="results.backends.outage"):
        backend.mark_as_done("t1", 5, request=make_request("t1"))
        slow_write_seconds(0)
        failing_store(LOST, times=3)
        backend.mark_as_done("t2", 5, request=make_request("t2"))
    assert "Slow result write" not in caplog.text
    assert caplog.text.count("Database unavailable") == 3


def test_a_query_error_is_raised_at_once(backend, failing_store):
    error = db_error(OperationalError, sqlite3.OperationalError("no such table: results_taskresult"))
    calls = failing_store(error, times=10**6)
    with pytest.raises(OperationalError, match="no such table"):
        backend.mark_as_done("t1", 5, request=make_request("t1"))
    assert len(calls) == 1


def test_nothing_is_retried_inside_the_callers_transaction(backend, failing_store):
    calls = failing_store(LOST, times=10**6)
    with pytest.raises(OperationalError), transaction.atomic():
        backend.store_result("t1", 5, states.SUCCESS)
    assert len(calls) == 1


def test_reads_ride_through_too(backend, monkeypatch):
    backend.store_result("t1", 5, states.SUCCESS)
    real, calls = TaskResult.objects.get_task, []

    def get_task(task_id):
        calls.append(task_id)
        if len(calls) < 3:
            raise LOST
        return real(task_id)

    monkeypatch.setattr(TaskResult.objects, "get_task", get_task)
    assert backend.get_task_meta("t1", cache=False)["result"] == 5
    assert len(calls) == 3


@pytest.mark.skipif("connection.vendor != 'sqlite'", reason="the SQLite file lock")
class TestSQLiteLockedLongerThanTheBusyTimeout:
    """Another process holds the write lock longer than the busy timeout: "database is locked"."""

    @pytest.fixture
    def short_busy_timeout(self):
        options = connection.settings_dict["OPTIONS"]
        saved = options.get("timeout")
        options["timeout"] = 0.1
        connection.close()
        yield
        options["timeout"] = saved
        connection.close()

    @staticmethod
    def hold_write_lock(seconds):
        locked = threading.Event()

        def hold():
            other = sqlite3.connect(connection.settings_dict["NAME"], isolation_level=None)
            other.execute("BEGIN IMMEDIATE")
            locked.set()
            time.sleep(seconds)
            other.execute("ROLLBACK")
            other.close()

        thread = threading.Thread(target=hold)
        thread.start()
        locked.wait(5)
        return thread

    def test_the_write_waits_for_the_lock(self, backend, short_busy_timeout, outage_timeout):
        outage_timeout(10)
        holder = self.hold_write_lock(1.0)
        backend.mark_as_done("t1", 5, request=make_request("t1"))
        holder.join()
        assert TaskResult.objects.get(task_id="t1").status == states.SUCCESS

    def test_a_write_that_waited_for_the_lock_says_how_long(self, backend, slow_write_seconds, caplog):
        """The busy timeout's wait happens inside SQLite; the warning is how a worker's log shows it."""
        slow_write_seconds(0.2)
        holder = self.hold_write_lock(0.5)
        with caplog.at_level(logging.WARNING, logger="results.backends.outage"):
            backend.mark_as_done("t1", 5, request=make_request("t1"))
        holder.join()
        assert "Database unavailable" not in caplog.text  # it waited; it did not fail
        [slow] = [record.getMessage() for record in caplog.records if record.getMessage().startswith("Slow result")]
        assert float(slow.rsplit(" took ", 1)[1].split(" s", 1)[0]) >= 0.3

    def test_a_lock_held_past_the_outage_timeout_requeues(self, backend, short_busy_timeout, outage_timeout):
        outage_timeout(0.5)
        holder = self.hold_write_lock(2.0)
        with pytest.raises(Reject) as rejected:
            backend.mark_as_done("t1", 5, request=make_request("t1"))
        holder.join()
        assert "database is locked" in str(rejected.value.__cause__)
        assert not TaskResult.objects.filter(task_id="t1").exists()


@pytest.mark.parametrize("vendor", ["postgresql", "mysql"])
def test_the_server_dropping_the_connection_is_ridden_through_by_default(backend, vendor):
    """Without ``result_backend_always_retry``: the killed session is replaced by a new one."""
    backend.mark_as_done("t0", 0, request=make_request("t0"))
    end_database_session(vendor)
    backend.mark_as_done("t1", 5, request=make_request("t1"))
    assert TaskResult.objects.get(task_id="t1").result == "5"
