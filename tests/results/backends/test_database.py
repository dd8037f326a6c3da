"""DatabaseBackend, called the way Celery calls it, against the database under test."""
import base64
import datetime
import pickle
from datetime import timedelta

import pytest
from celery import states
from celery.exceptions import TaskRevokedError
from celery.result import AsyncResult
from celery.result import GroupResult as CeleryGroupResult
from django.db import IntegrityError, InterfaceError, connection, transaction

from results.backends import DatabaseBackend
from results.models import GroupResult, TaskResult
from results.utils import now

from .helpers import end_database_session, make_request

pytestmark = pytest.mark.django_db


class Boom(Exception):
    pass


def row(task_id):
    return TaskResult.objects.get(task_id=task_id)


def test_configured_by_its_import_path(app):
    assert isinstance(app.backend, DatabaseBackend)
    assert app.backend.TaskModel is TaskResult and app.backend.GroupModel is GroupResult
    assert DatabaseBackend.subpolling_interval == 0.5


class TestEncoding:
    def test_json_is_stored_as_plain_text(self, backend):
        assert backend.encode_content({"a": [1, 2]}) == ("application/json", "utf-8", '{"a": [1, 2]}')

    def test_json_round_trip(self, backend):
        _, _, content = backend.encode_content({"a": [1, "b", None]})
        row = TaskResult(content_type="application/json", content_encoding="utf-8")
        assert backend.decode_content(row, content) == {"a": [1, "b", None]}

    def test_pickle_is_base64_text(self, make_app):
        backend = make_app(result_serializer="pickle").backend
        value = {"when": datetime.date(2024, 1, 2), "items": {1, 2}}
        content_type, content_encoding, content = backend.encode_content(value)
        assert (content_type, content_encoding) == ("application/x-python-serialize", "binary")
        assert isinstance(content, str) and pickle.loads(base64.b64decode(content)) == value
        obj = TaskResult(content_type=content_type, content_encoding=content_encoding)
        assert backend.decode_content(obj, content) == value

    def test_empty_content_decodes_to_none(self, backend):
        assert backend.decode_content(TaskResult(), None) is None
        assert backend.decode_content(TaskResult(), "") is None

    def test_rows_are_read_with_their_own_serializer(self, make_app):
        """A worker switched to pickle still reads the JSON rows written before."""
        make_app().backend.store_result("t1", {"x": 1}, states.SUCCESS)
        pickle_backend = make_app(result_serializer="pickle").backend
        assert pickle_backend.get_task_meta("t1")["result"] == {"x": 1}


class TestStates:
    def test_success_round_trip(self, backend):
        backend.store_result("t1", {"total": 3}, states.SUCCESS, request=make_request("t1"))
        task = row("t1")
        assert task.status == states.SUCCESS and task.result == '{"total": 3}'
        assert task.content_type == "application/json"
        result = AsyncResult("t1", backend=backend, app=backend.app)
        assert result.state == states.SUCCESS and result.get(timeout=1) == {"total": 3}
        assert result.date_done == task.date_done

    def test_unknown_task_is_pending_and_not_stored(self, backend):
        meta = backend.get_task_meta("nope")
        assert meta["status"] == states.PENDING and meta["result"] is None
        assert not TaskResult.objects.exists()

    def test_started_sets_date_started_from_the_database_and_success_keeps_it(self, backend):
        before = now() - timedelta(seconds=5)
        backend.mark_as_started("t1", pid=42, hostname="celery@worker1")
        started = row("t1")
        assert started.status == states.STARTED and started.date_started >= before
        assert backend.get_task_meta("t1")["result"] == {"pid": 42, "hostname": "celery@worker1"}
        backend.mark_as_done("t1", 7, request=make_request("t1"))
        done = row("t1")
        assert done.status == states.SUCCESS and done.date_started == started.date_started

    def test_failure_keeps_exception_and_traceback(self, backend):
        backend.mark_as_failure("t1", Boom("bad", 2), traceback="Traceback: boom", request=make_request("t1"))
        result = AsyncResult("t1", backend=backend, app=backend.app)
        assert result.state == states.FAILURE
        assert type(result.result).__name__ == "Boom" and result.result.args == ("bad", 2)
        assert result.traceback == "Traceback: boom"
        with pytest.raises(Exception, match="bad"):
            result.get(timeout=1)

    def test_failure_with_pickle_restores_the_exception_class(self, make_app):
        backend = make_app(result_serializer="pickle").backend
        backend.mark_as_failure("t1", Boom("bad"), traceback="tb", request=make_request("t1"))
        assert isinstance(backend.get_task_meta("t1")["result"], Boom)

    def test_retry_stores_that_attempts_exception(self, backend):
        backend.mark_as_retry("t1", Boom("attempt 1"), traceback="tb 1", request=make_request("t1"))
        meta = backend.get_task_meta("t1")
        assert meta["status"] == states.RETRY and str(meta["result"]) == "attempt 1"
        assert meta["traceback"] == "tb 1"

    def test_revoked(self, backend):
        backend.mark_as_revoked("t1", reason="terminated", request=make_request("t1"))
        meta = backend.get_task_meta("t1")
        assert meta["status"] == states.REVOKED and isinstance(meta["result"], TaskRevokedError)

    def test_custom_state_with_meta(self, backend):
        backend.store_result("t1", {"step": 2, "of": 5}, "PROGRESS", request=make_request("t1"))
        result = AsyncResult("t1", backend=backend, app=backend.app)
        assert result.state == "PROGRESS" and result.info == {"step": 2, "of": 5}

    def test_children_are_stored_in_meta(self, backend):
        request = make_request("t1")
        request.children.append(AsyncResult("child-1", app=backend.app))
        backend.mark_as_done("t1", None, request=request)
        children = AsyncResult("t1", backend=backend, app=backend.app).children
        assert [child.id for child in children] == ["child-1"]


class TestRefusedIds:
    """What Celery never generates is refused before anything is written, with a clear error."""

    @pytest.mark.parametrize("task_id", ["", "   "])
    def test_an_empty_task_id(self, backend, task_id):
        with pytest.raises(ValueError, match="task_id must not be empty"):
            backend.store_result(task_id, 1, states.SUCCESS)
        assert not TaskResult.objects.exists()

    def test_a_task_id_longer_than_the_column(self, backend):
        with pytest.raises(ValueError, match="task_id is 300 characters long"):
            backend.mark_as_done("t" * 300, 1, request=make_request("t" * 300))
        assert not TaskResult.objects.exists()

    def test_an_empty_group_id(self, backend):
        with pytest.raises(ValueError, match="group_id must not be empty"):
            CeleryGroupResult("", [AsyncResult("a", app=backend.app)], app=backend.app).save(backend=backend)
        assert not GroupResult.objects.exists()


class TestExtended:
    def test_extended_fields(self, backend):
        backend.mark_as_done("t1", 3, request=make_request("t1", periodic_task_name="nightly"))
        task = row("t1")
        assert task.task_name == "app.tasks.add" and task.worker == "celery@worker1"
        assert task.task_args == "[1, 2]" and task.task_kwargs == '{"z": 3}'
        assert task.periodic_task_name == "nightly"

    def test_argsrepr_hides_what_the_task_hid(self, backend):
        request = make_request("t1", args=["alice", "hunter2"], argsrepr="('alice', '***')",
                               kwargs={"token": "s3cret"}, kwargsrepr="{'token': '***'}")
        backend.mark_as_done("t1", True, request=request)
        task = row("t1")
        assert "hunter2" not in task.task_args and "s3cret" not in task.task_kwargs
        meta = backend.get_task_meta("t1")
        assert meta["args"] == meta["task_args"] == "('alice', '***')"
        assert meta["kwargs"] == "{'token': '***'}"

    def test_periodic_task_name_from_headers(self, backend):
        backend.mark_as_done("t1", 1, request=make_request("t1", headers={"periodic_task_name": "hourly"}))
        assert row("t1").periodic_task_name == "hourly"

    def test_without_extended_only_the_traceback_stays(self, make_app):
        backend = make_app(result_extended=False).backend
        backend.mark_as_failure("t1", Boom("x"), traceback="tb", request=make_request("t1", periodic_task_name="n"))
        task = row("t1")
        assert (task.task_name, task.task_args, task.task_kwargs, task.worker, task.periodic_task_name) == (None,) * 5
        assert task.traceback == "tb"


class TestReadingMeta:
    def test_request_meta_is_merged(self, backend):
        backend.mark_as_done("t1", 1, request=make_request("t1", meta={"tenant": "acme"}))
        meta = backend.get_task_meta("t1")
        assert meta["tenant"] == "acme" and meta["children"] == []
        assert meta["args"] == [1, 2] and meta["kwargs"] == {"z": 3}
        assert meta["task_id"] == "t1" and meta["worker"] == "celery@worker1"

    def test_legacy_plain_text_arguments_pass_through(self, backend):
        TaskResult.objects.create(
            task_id="old", status=states.SUCCESS, result="1", content_type="application/json",
            content_encoding="utf-8", task_args="(1, 2)", task_kwargs="{'a': 1}",
        )
        meta = backend.get_task_meta("old")
        assert meta["args"] == meta["task_args"] == "(1, 2)"
        assert meta["kwargs"] == meta["task_kwargs"] == "{'a': 1}"
        assert meta["result"] == 1

    def test_legacy_text_under_pickle_passes_through(self, make_app):
        backend = make_app(result_serializer="pickle").backend
        content_type, content_encoding, result = backend.encode_content(1)
        TaskResult.objects.create(
            task_id="old", status=states.SUCCESS, result=result, content_type=content_type,
            content_encoding=content_encoding, task_args="(1, 2)",
        )
        assert backend.get_task_meta("old")["args"] == "(1, 2)"


class TestForgetAndCleanup:
    def test_forget_deletes_the_row(self, backend):
        backend.mark_as_done("t1", 1, request=make_request("t1"))
        result = AsyncResult("t1", backend=backend, app=backend.app)
        result.forget()
        assert not TaskResult.objects.exists()
        assert result.state == states.PENDING

    def test_forget_unknown_is_a_no_op(self, backend):
        backend.forget("nope")

    def test_cleanup_deletes_expired_tasks_and_groups(self, make_app):
        backend = make_app(result_expires=timedelta(hours=1)).backend
        for task_id in ("old", "new"):
            backend.mark_as_done(task_id, 1, request=make_request(task_id))
        backend.save_group("g-old", CeleryGroupResult("g-old", [], app=backend.app))
        backend.save_group("g-new", CeleryGroupResult("g-new", [], app=backend.app))
        long_ago = now() - timedelta(hours=2)
        TaskResult.objects.filter(task_id="old").update(date_done=long_ago)
        GroupResult.objects.filter(group_id="g-old").update(date_done=long_ago)
        backend.cleanup()
        assert list(TaskResult.objects.values_list("task_id", flat=True)) == ["new"]
        assert list(GroupResult.objects.values_list("group_id", flat=True)) == ["g-new"]

    def test_cleanup_without_expiry_keeps_everything(self, make_app):
        backend = make_app(result_expires=None).backend
        backend.mark_as_done("t1", 1, request=make_request("t1"))
        TaskResult.objects.update(date_done=now() - timedelta(days=365))
        backend.cleanup()
        assert TaskResult.objects.count() == 1


@pytest.mark.django_db(transaction=True)
class TestRetryingBrokenConnections:
    def test_interface_error_is_safe_and_closes_the_connection(self, backend):
        connection.ensure_connection()
        assert backend.exception_safe_to_retry(InterfaceError("connection already closed"))
        assert connection.connection is None

    def test_other_errors_are_not_retried(self, backend):
        connection.ensure_connection()
        assert not backend.exception_safe_to_retry(IntegrityError("duplicate key"))
        assert not backend.exception_safe_to_retry(ValueError("too long"))
        assert connection.connection is not None

    def test_nothing_is_retried_inside_a_transaction(self, backend):
        with transaction.atomic():
            assert not backend.exception_safe_to_retry(InterfaceError("connection already closed"))

    def test_always_retry_stores_through_an_interface_error(self, make_app, monkeypatch):
        backend = make_app(result_backend_always_retry=True, result_backend_base_sleep_between_retries_ms=1).backend
        store = TaskResult.objects.store_result
        calls = []

        def fail_once(*args, **kwargs):
            calls.append(1)
            if len(calls) == 1:
                raise InterfaceError("connection already closed")
            return store(*args, **kwargs)

        monkeypatch.setattr(TaskResult.objects, "store_result", fail_once)
        backend.mark_as_done("t1", 5, request=make_request("t1"))
        assert len(calls) == 2 and row("t1").result == "5"

    @pytest.mark.parametrize("vendor", ["postgresql", "mysql"])
    def test_always_retry_reconnects_after_the_server_drops_the_connection(self, make_app, vendor):
        backend = make_app(result_backend_always_retry=True, result_backend_base_sleep_between_retries_ms=1).backend
        backend.mark_as_done("t0", 0, request=make_request("t0"))
        end_database_session(vendor)
        backend.mark_as_done("t1", 5, request=make_request("t1"))
        assert row("t1").result == "5"


class TestGroups:
    def test_save_restore_delete(self, backend):
        members = [AsyncResult("a", app=backend.app), AsyncResult("b", app=backend.app)]
        group = CeleryGroupResult("g1", members, app=backend.app)
        group.save(backend=backend)
        stored = GroupResult.objects.get(group_id="g1")
        assert stored.content_type == "application/json"
        restored = CeleryGroupResult.restore("g1", backend=backend, app=backend.app)
        assert restored.id == "g1" and [r.id for r in restored.results] == ["a", "b"]
        restored.delete(backend=backend)
        assert not GroupResult.objects.exists()
        assert CeleryGroupResult.restore("g1", backend=backend, app=backend.app) is None

    def test_nested_groups(self, make_app):
        backend = make_app(result_serializer="pickle").backend
        inner = CeleryGroupResult("inner", [AsyncResult("a", app=backend.app)], app=backend.app)
        outer = CeleryGroupResult("outer", [inner, AsyncResult("b", app=backend.app)], app=backend.app)
        backend.save_group("outer", outer)
        restored = backend.restore_group("outer", cache=False)
        assert isinstance(restored.results[0], CeleryGroupResult)
        assert [r.id for r in restored.results[0].results] == ["a"] and restored.results[1].id == "b"

    def test_unknown_group_restores_as_none_and_is_not_cached(self, backend):
        assert backend.restore_group("later") is None
        backend.save_group("later", CeleryGroupResult("later", [], app=backend.app))
        assert backend.restore_group("later").id == "later"

    def test_deleting_an_unknown_group_is_a_no_op(self, backend):
        backend.delete_group("nope")
        assert not GroupResult.objects.exists()


class TestNativeJoin:
    """``GroupResult.get()`` reads the group's rows in batches, not one query per task."""

    def group_of(self, backend, task_ids):
        members = [AsyncResult(t, backend=backend, app=backend.app) for t in task_ids]
        return CeleryGroupResult("g", members, app=backend.app)

    def test_results_in_order_with_a_few_queries(self, backend, django_assert_max_num_queries):
        task_ids = [f"t{index}" for index in range(1200)]
        for index, task_id in enumerate(reversed(task_ids)):
            backend.store_result(task_id, 1199 - index, states.SUCCESS)
        group = self.group_of(backend, task_ids)
        assert group.supports_native_join
        with django_assert_max_num_queries(3):
            assert group.get(timeout=1) == list(range(1200))

    def test_failure_propagates(self, backend):
        backend.store_result("a", 1, states.SUCCESS)
        backend.mark_as_failure("b", Boom("member failed"), traceback="tb")
        with pytest.raises(Boom, match="member failed"):
            self.group_of(backend, ["a", "b"]).get(timeout=1)
        assert self.group_of(backend, ["a", "b"]).get(timeout=1, propagate=False)[0] == 1

    def test_times_out_while_a_member_is_pending(self, backend):
        backend.store_result("a", 1, states.SUCCESS)
        backend.store_result("b", {}, states.STARTED)
        with pytest.raises(backend.TimeoutError):
            self.group_of(backend, ["a", "b"]).get(timeout=0.2, interval=0.05)

    def test_yields_members_as_they_become_ready(self, backend):
        backend.store_result("a", 1, states.SUCCESS)
        pending = backend.get_many(["a", "b"], timeout=None, interval=0.01, max_iterations=2)
        assert list(pending) == [("a", backend.get_task_meta("a"))]
