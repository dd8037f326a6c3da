"""Manager behaviour against the real database under test."""
import threading
import warnings
from datetime import timedelta

import pytest
from celery import states
from django.db import DatabaseError, connection, connections, transaction
from django.db.models.functions import Now
from django.test.utils import CaptureQueriesContext

from results.managers import TxIsolationWarning, transaction_retry
from results.models import GroupResult, TaskResult
from results.utils import now
from tests.seeding import insert_task_rows
from tests.support import OTHER_DB

STORE_ARGS = ("application/json", "utf-8")


def store(task_id="task-1", result='"ok"', status=states.SUCCESS, **kwargs):
    return TaskResult.objects.store_result(*STORE_ARGS, task_id, result, status, **kwargs)


@pytest.mark.django_db
class TestGetTaskAndGroup:
    def test_missing_task_is_an_unsaved_pending_instance(self):
        task = TaskResult.objects.get_task("missing")
        assert task.pk is None and task._state.adding
        assert task.task_id == "missing" and task.status == states.PENDING
        assert TaskResult.objects.count() == 0

    def test_stored_task_is_returned(self):
        store("t1")
        task = TaskResult.objects.get_task("t1")
        assert task.pk is not None and task.status == states.SUCCESS

    def test_missing_group_is_an_unsaved_instance(self):
        group = GroupResult.objects.get_group("missing")
        assert group.pk is None and group.group_id == "missing"
        assert GroupResult.objects.count() == 0

    def test_stored_group_is_returned(self):
        GroupResult.objects.store_group_result(*STORE_ARGS, "g1", '["g1", []]')
        assert GroupResult.objects.get_group("g1").result == '["g1", []]'

    def test_repeated_miss_checks_isolation(self, monkeypatch):
        calls = []
        monkeypatch.setattr(TaskResult.objects, "_last_id", None)
        monkeypatch.setattr(TaskResult.objects, "warn_if_repeatable_read", lambda: calls.append(1))
        TaskResult.objects.get_task("a")
        TaskResult.objects.get_task("b")
        assert calls == []
        TaskResult.objects.get_task("b")
        assert calls == [1]


@pytest.mark.django_db
class TestStoreResult:
    def test_create_stores_every_field(self):
        started = now() - timedelta(seconds=5)
        returned = store(
            "t1", result='{"x": 1}', status=states.SUCCESS, traceback="Traceback...",
            meta='{"children": []}', periodic_task_name="nightly", task_name="app.work",
            task_args="[1, 2]", task_kwargs='{"a": 1}', worker="celery@host", date_started=started,
        )
        task = TaskResult.objects.get(task_id="t1")
        assert returned.pk == task.pk
        assert (task.content_type, task.content_encoding) == STORE_ARGS
        assert task.result == '{"x": 1}' and task.status == states.SUCCESS
        assert task.traceback == "Traceback..." and task.meta == '{"children": []}'
        assert task.periodic_task_name == "nightly" and task.task_name == "app.work"
        assert task.task_args == "[1, 2]" and task.task_kwargs == '{"a": 1}'
        assert task.worker == "celery@host"
        assert task.date_started == started
        assert task.date_created is not None and task.date_done is not None

    def test_update_overwrites_fields_and_keeps_creation_and_start(self):
        store("t1", status=states.STARTED, task_name="app.work", worker="w1", date_started=Now())
        first = TaskResult.objects.get(task_id="t1")
        returned = store("t1", result="42", status=states.SUCCESS, task_name="app.work", worker="w2")
        task = TaskResult.objects.get(task_id="t1")
        assert TaskResult.objects.count() == 1
        assert returned.pk == task.pk == first.pk
        assert task.status == states.SUCCESS and task.result == "42" and task.worker == "w2"
        assert task.date_created == first.date_created
        assert task.date_started == first.date_started is not None
        assert task.date_done >= first.date_done
        assert returned.date_created == first.date_created

    def test_update_with_date_started_replaces_it(self):
        store("t1", status=states.STARTED, date_started=now() - timedelta(hours=1))
        later = now()
        store("t1", status=states.STARTED, date_started=later)
        assert TaskResult.objects.get(task_id="t1").date_started == later

    def test_update_clears_fields_not_given(self):
        store("t1", status=states.FAILURE, traceback="tb", task_name="app.x")
        store("t1", status=states.SUCCESS)
        task = TaskResult.objects.get(task_id="t1")
        assert task.traceback is None and task.task_name is None

    def test_using_names_the_database(self, settings):
        class WritesElsewhere:
            def db_for_write(self, model, **hints):
                return "nowhere"

        settings.DATABASE_ROUTERS = [WritesElsewhere()]
        store("t1", using="default")
        assert TaskResult.objects.using("default").filter(task_id="t1").exists()

    @pytest.mark.parametrize("value, stored", [(True, "True"), (False, "False"), (42, "42"), (None, None)])
    def test_results_of_any_type_are_stored_as_text(self, value, stored):
        store("t1", result=value)
        assert TaskResult.objects.get(task_id="t1").result == stored

    def test_status_may_be_a_custom_state(self):
        store("t1", status="PROGRESS")
        assert TaskResult.objects.get(task_id="t1").status == "PROGRESS"

    def test_too_long_task_id_is_refused_before_writing(self):
        with pytest.raises(ValueError, match="task_id is 256 characters long"):
            store("x" * 256)
        assert TaskResult.objects.count() == 0

    @pytest.mark.parametrize("task_id", ["", " ", None])
    def test_empty_task_id_is_refused_before_writing(self, task_id):
        with pytest.raises(ValueError, match="task_id must not be empty"):
            store(task_id)
        assert TaskResult.objects.count() == 0

    def test_too_long_status_is_refused_before_writing(self):
        with pytest.raises(ValueError, match="status is 51 characters long"):
            store("t1", status="S" * 51)
        assert TaskResult.objects.count() == 0

    def test_too_long_value_never_truncates_an_existing_row(self):
        store("t1", worker="w1")
        with pytest.raises(ValueError, match="worker"):
            store("t1", worker="w" * 101)
        assert TaskResult.objects.get(task_id="t1").worker == "w1"

    def test_longest_allowed_values_are_stored_whole(self):
        store("x" * 255, status="S" * 50)
        task = TaskResult.objects.get()
        assert task.task_id == "x" * 255 and task.status == "S" * 50

    def test_is_one_statement(self):
        store("t1")
        with CaptureQueriesContext(connection) as queries:
            store("t1", status=states.FAILURE)
        statements = [q["sql"] for q in queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]
        assert len(statements) == 1, statements

    def test_group_result_create_and_update(self):
        GroupResult.objects.store_group_result(*STORE_ARGS, "g1", "first")
        first = GroupResult.objects.get(group_id="g1")
        GroupResult.objects.store_group_result("application/x-python-serialize", "binary", "g1", "second")
        group = GroupResult.objects.get(group_id="g1")
        assert GroupResult.objects.count() == 1
        assert group.result == "second" and group.content_encoding == "binary"
        assert group.date_created == first.date_created

    @pytest.mark.parametrize("group_id", ["", None])
    def test_empty_group_id_is_refused(self, group_id):
        with pytest.raises(ValueError, match="group_id must not be empty"):
            GroupResult.objects.store_group_result(*STORE_ARGS, group_id, "r")
        assert GroupResult.objects.count() == 0

    def test_too_long_group_id_is_refused(self):
        with pytest.raises(ValueError, match="group_id"):
            GroupResult.objects.store_group_result(*STORE_ARGS, "g" * 256, "r")
        assert GroupResult.objects.count() == 0


@pytest.mark.django_db(transaction=True)
class TestTransactionRetry:
    """A real database error (a query on a table that does not exist) is retried."""

    @staticmethod
    def failing(times):
        calls = []

        def run():
            calls.append(1)
            with connection.cursor() as cursor:
                table = "no_such_table" if len(calls) <= times else TaskResult._meta.db_table
                cursor.execute(f"SELECT COUNT(*) FROM {table}")
                return cursor.fetchone()[0]

        return run, calls

    def test_retries_then_succeeds(self):
        run, calls = self.failing(times=1)
        assert transaction_retry(max_retries=1)(run)() == 0
        assert len(calls) == 2

    def test_gives_up_after_the_count(self):
        run, calls = self.failing(times=5)
        with pytest.raises(DatabaseError):
            transaction_retry(max_retries=2)(run)()
        assert len(calls) == 3

    def test_exception_retry_count_overrides_per_call(self):
        run, calls = self.failing(times=3)
        assert transaction_retry(max_retries=0)(run)(exception_retry_count=3) == 0
        assert len(calls) == 4

    def test_exception_retry_count_zero_means_one_attempt(self):
        run, calls = self.failing(times=1)
        with pytest.raises(DatabaseError):
            transaction_retry(max_retries=5)(run)(exception_retry_count=0)
        assert len(calls) == 1

    def test_other_errors_are_not_retried(self):
        calls = []

        @transaction_retry(max_retries=3)
        def run():
            calls.append(1)
            raise ValueError("bad input")

        with pytest.raises(ValueError):
            run()
        assert len(calls) == 1

    def test_store_result_takes_exception_retry_count(self):
        store("t1", exception_retry_count=0)
        assert TaskResult.objects.filter(task_id="t1").exists()

    def test_store_result_retries_a_database_error(self, monkeypatch):
        """The first upsert fails inside the database; the retry stores the row."""
        real_insert = TaskResult.objects.get_queryset().__class__._insert
        attempts = []

        def flaky_insert(queryset, objs, *args, **kwargs):
            attempts.append(1)
            if len(attempts) == 1:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT * FROM no_such_table")
            return real_insert(queryset, objs, *args, **kwargs)

        monkeypatch.setattr(TaskResult.objects.get_queryset().__class__, "_insert", flaky_insert)
        store("t1")
        assert len(attempts) == 2
        assert TaskResult.objects.filter(task_id="t1").exists()


@pytest.mark.mysql
@pytest.mark.django_db
class TestIsolationWarning:
    @staticmethod
    def set_isolation(level):
        with connection.cursor() as cursor:
            cursor.execute(f"SET SESSION TRANSACTION ISOLATION LEVEL {level}")

    def test_warns_on_repeatable_read(self):
        self.set_isolation("REPEATABLE READ")
        try:
            with pytest.warns(TxIsolationWarning, match="READ COMMITTED"):
                TaskResult.objects.warn_if_repeatable_read()
        finally:
            self.set_isolation("READ COMMITTED")

    def test_silent_on_read_committed(self):
        self.set_isolation("READ COMMITTED")
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            TaskResult.objects.warn_if_repeatable_read()

    def test_two_misses_warn_under_repeatable_read(self):
        self.set_isolation("REPEATABLE READ")
        try:
            TaskResult.objects.get_task("gone")
            with pytest.warns(TxIsolationWarning):
                TaskResult.objects.get_task("gone")
        finally:
            self.set_isolation("READ COMMITTED")


@pytest.mark.django_db
def test_isolation_check_is_silent_and_free_elsewhere():
    if connection.vendor == "mysql":
        pytest.skip("MySQL/MariaDB is covered by TestIsolationWarning")
    with warnings.catch_warnings(), CaptureQueriesContext(connection) as queries:
        warnings.simplefilter("error")
        TaskResult.objects.warn_if_repeatable_read()
    assert len(queries) == 0


class RepeatableReadConnection:
    """Just enough of a MySQL connection for ``warn_if_repeatable_read``: the session is REPEATABLE-READ."""

    def cursor(self):
        return self

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return False

    def execute(self, sql):
        pass

    def fetchone(self):
        return ("transaction_isolation", "REPEATABLE-READ")


def test_isolation_warning_names_the_callers_line(monkeypatch):
    manager = TaskResult.objects
    monkeypatch.setattr(manager, "current_engine", lambda: "django.db.backends.mysql")
    monkeypatch.setattr(manager, "connection_for_read", RepeatableReadConnection)
    with pytest.warns(TxIsolationWarning) as record:
        manager.warn_if_repeatable_read()
    assert record[0].filename == __file__


@pytest.mark.django_db
def test_connections_and_engine():
    manager = TaskResult.objects
    assert manager.connection_for_write() is connections["default"]
    assert manager.connection_for_read() is connections["default"]
    assert manager.current_engine() == connections["default"].settings_dict["ENGINE"]


def age_rows(model, using="default", **age):
    model.objects.using(using).update(date_done=now() - timedelta(**age))


@pytest.mark.django_db(databases=[OTHER_DB])
class TestManagerOnAnotherDatabase:
    """``db_manager(alias)`` wins over the router; any query to ``default`` fails these tests."""

    @pytest.fixture(autouse=True)
    def router_says_default(self, settings):
        class EverythingOnDefault:
            def db_for_read(self, model, **hints):
                return "default"

            def db_for_write(self, model, **hints):
                return "default"

        settings.DATABASE_ROUTERS = [EverythingOnDefault()]

    @pytest.fixture
    def tasks(self):
        return TaskResult.objects.db_manager(OTHER_DB)

    @pytest.fixture
    def groups(self):
        return GroupResult.objects.db_manager(OTHER_DB)

    def test_store_and_get_task(self, tasks):
        stored = tasks.store_result(*STORE_ARGS, "t1", '"ok"', states.SUCCESS)
        assert stored._state.db == OTHER_DB
        assert tasks.get_task("t1").pk == stored.pk
        assert tasks.get_task("missing").pk is None

    def test_store_and_get_group(self, groups):
        stored = groups.store_group_result(*STORE_ARGS, "g1", "r")
        assert stored._state.db == OTHER_DB and groups.get_group("g1").pk == stored.pk

    def test_expiry(self, tasks, groups):
        for i in range(3):
            tasks.store_result(*STORE_ARGS, f"old-{i}", '"ok"', states.SUCCESS)
        groups.store_group_result(*STORE_ARGS, "old-group", "r")
        age_rows(TaskResult, using=OTHER_DB, days=2)
        age_rows(GroupResult, using=OTHER_DB, days=2)
        tasks.store_result(*STORE_ARGS, "fresh", '"ok"', states.SUCCESS)
        assert tasks.get_all_expired(86400).count() == 3
        assert tasks.delete_expired(86400, batch_size=2) == 3
        assert list(tasks.values_list("task_id", flat=True)) == ["fresh"]
        assert groups.get_all_expired(86400).count() == 1
        assert groups.delete_expired(86400) == 1

    def test_connections_and_engine(self, tasks):
        assert tasks.connection_for_write() is connections[OTHER_DB]
        assert tasks.connection_for_read() is connections[OTHER_DB]
        assert tasks.current_engine() == connections[OTHER_DB].settings_dict["ENGINE"]
        tasks.warn_if_repeatable_read()

    def test_using_wins_over_the_managers_database(self, settings):
        TaskResult.objects.db_manager("default").store_result(
            *STORE_ARGS, "t1", '"ok"', states.SUCCESS, using=OTHER_DB
        )
        assert TaskResult.objects.using(OTHER_DB).filter(task_id="t1").exists()


@pytest.mark.django_db
class TestExpiry:
    @pytest.fixture
    def rows(self):
        for i in range(3):
            store(f"old-{i}")
        age_rows(TaskResult, days=2)
        store("fresh")

    @pytest.mark.parametrize("expires", [86400, timedelta(days=1)])
    def test_get_all_expired(self, rows, expires):
        expired = TaskResult.objects.get_all_expired(expires)
        assert sorted(expired.values_list("task_id", flat=True)) == ["old-0", "old-1", "old-2"]

    @pytest.mark.parametrize("expires", [86400, timedelta(days=1)])
    def test_delete_expired(self, rows, expires):
        assert TaskResult.objects.delete_expired(expires) == 3
        assert list(TaskResult.objects.values_list("task_id", flat=True)) == ["fresh"]

    def test_delete_expired_groups(self):
        GroupResult.objects.store_group_result(*STORE_ARGS, "old", "r")
        age_rows(GroupResult, hours=3)
        GroupResult.objects.store_group_result(*STORE_ARGS, "new", "r")
        assert GroupResult.objects.delete_expired(3600) == 1
        assert list(GroupResult.objects.values_list("group_id", flat=True)) == ["new"]

    def test_nothing_expired(self, rows):
        assert TaskResult.objects.delete_expired(timedelta(days=30)) == 0
        assert TaskResult.objects.count() == 4


@pytest.mark.slow
@pytest.mark.django_db
def test_delete_expired_200k_rows_in_batches():
    total, batch_size = 200_000, 25_000
    insert_task_rows(total, date_done=now() - timedelta(days=10))
    assert TaskResult.objects.filter(task_id__startswith="bulk-").count() == total
    store("kept")
    with CaptureQueriesContext(connection) as queries:
        deleted = TaskResult.objects.delete_expired(timedelta(days=1), batch_size=batch_size)
    assert deleted == total
    assert list(TaskResult.objects.values_list("task_id", flat=True)) == ["kept"]
    deletes = [q["sql"] for q in queries if q["sql"].upper().startswith("DELETE")]
    assert len(deletes) == total // batch_size
    assert all(sql.count(",") < batch_size + 10 for sql in deletes)


@pytest.mark.django_db(transaction=True)
def test_concurrent_store_result_on_the_same_task_id():
    """Several threads (each with its own connection) write one task at once."""
    threads_count, writes_each = 8, 25
    errors, barrier = [], threading.Barrier(threads_count)

    def writer(n):
        try:
            barrier.wait()
            for i in range(writes_each):
                store("shared", result=f'"{n}-{i}"', status=states.STARTED if i % 2 else states.SUCCESS)
        except Exception as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert TaskResult.objects.filter(task_id="shared").count() == 1
    assert TaskResult.objects.count() == 1


@pytest.mark.postgresql
@pytest.mark.django_db
def test_store_result_is_an_insert_on_conflict_on_postgresql():
    with CaptureQueriesContext(connection) as queries:
        store("t1")
    assert "ON CONFLICT" in queries[-1]["sql"]


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
class TestAsynchronousCommitOfTransientStates:
    """STARTED and RETRY skip the wait for the disk on PostgreSQL; ready states never do."""

    @staticmethod
    def statements(status):
        with CaptureQueriesContext(connection) as queries:
            store("t1", status=status)
        return [q["sql"] for q in queries]

    @pytest.mark.parametrize("status", [states.STARTED, states.RETRY])
    def test_transient_states_commit_asynchronously(self, status):
        statements = self.statements(status)
        assert any("synchronous_commit TO OFF" in sql for sql in statements)
        other = connections.create_connection("default")
        try:
            with other.cursor() as cursor:
                cursor.execute("SELECT status FROM results_taskresult WHERE task_id = 't1'")
                assert cursor.fetchone() == (status,), "visible to other sessions at once"
        finally:
            other.close()
        with connection.cursor() as cursor:
            cursor.execute("SHOW synchronous_commit")
            assert cursor.fetchone() == ("on",), "only that transaction was asynchronous"

    @pytest.mark.parametrize("status", [states.SUCCESS, states.FAILURE, states.REVOKED, "PROGRESS"])
    def test_other_states_wait_for_the_disk(self, status):
        statements = self.statements(status)
        assert not any("synchronous_commit" in sql for sql in statements)
        assert len(statements) == 1

    def test_never_inside_the_callers_transaction(self):
        with transaction.atomic():
            statements = self.statements(states.STARTED)
        assert not any("synchronous_commit" in sql for sql in statements)
