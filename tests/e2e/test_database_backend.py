"""Real tasks on a real worker, results through the DatabaseBackend into the database under test."""
import time
from datetime import timedelta

import pytest
from celery import chain, chord, group, states
from celery.exceptions import ChordError
from celery.result import GroupResult as CeleryGroupResult

from dashboard.fingerprints import fingerprint
from results.models import ChordCounter, GroupResult, TaskResult
from results.utils import now

from . import tasks

pytestmark = pytest.mark.django_db(transaction=True)

TIMEOUT = 30


def wait_for(predicate, timeout=TIMEOUT, interval=0.1):
    """Poll ``predicate`` until it returns something true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"still waiting after {timeout}s")


def row(task_id):
    return TaskResult.objects.get(task_id=task_id)


def body_runs(log_path):
    try:
        with open(log_path) as log:
            return log.read().splitlines()
    except FileNotFoundError:
        return []


class TestTaskStates:
    def test_success_is_stored_with_start_time_worker_and_arguments(self, app):
        result = tasks.add.delay(2, 3)
        assert result.get(timeout=TIMEOUT) == 5
        assert result.state == states.SUCCESS
        task = row(result.id)
        assert task.status == states.SUCCESS and task.result == "5"
        assert task.task_name == "tests.e2e.tasks.add" and task.task_args == '"(2, 3)"'
        assert task.worker.startswith("e2e-")
        assert task.date_created <= task.date_done
        assert task.date_started is not None and task.date_started <= task.date_done
        assert task.date_started >= now() - timedelta(minutes=5)

    def test_failure_keeps_exception_and_traceback(self, app):
        result = tasks.fail.delay("on purpose")
        with pytest.raises(tasks.ExpectedFailure, match="on purpose"):
            result.get(timeout=TIMEOUT)
        assert result.state == states.FAILURE
        assert "ExpectedFailure: on purpose" in result.traceback
        assert "ExpectedFailure" in row(result.id).traceback

    def test_real_failures_group_by_cause_not_by_data(self, app):
        """Fingerprints of tracebacks as a real worker stores them (``dashboard.fingerprints``)."""
        sent = {
            "charge-pear": tasks.charge.delay("pear"), "charge-plum": tasks.charge.delay("plum"),
            "refund-pear": tasks.refund.delay("pear"),
            "fail-1": tasks.fail.delay("order 17 of user 3"), "fail-2": tasks.fail.delay("order 4 of user 12"),
        }
        for result in sent.values():
            wait_for(lambda result=result: result.state == states.FAILURE)
        prints = {name: fingerprint(row(result.id).traceback) for name, result in sent.items()}
        assert prints["charge-pear"] == prints["charge-plum"]
        assert prints["charge-pear"].exception_type == "KeyError"
        assert prints["charge-pear"].where == "e2e/tasks.py:charge"
        assert prints["refund-pear"].digest != prints["charge-pear"].digest
        assert prints["fail-1"] == prints["fail-2"]
        assert prints["fail-1"].message == "order <n> of user <n>"

    def test_retry_is_stored_with_that_attempts_exception(self, app):
        result = tasks.fail_then_succeed.delay(2)
        retry = wait_for(lambda: TaskResult.objects.filter(task_id=result.id, status=states.RETRY).first())
        assert "attempt 0" in retry.result and "ExpectedFailure" in retry.traceback
        assert result.get(timeout=TIMEOUT) == 1
        assert row(result.id).status == states.SUCCESS

    def test_custom_state_with_meta(self, app):
        result = tasks.progress.delay(3, 0.4)

        def progress_meta():
            meta = result.backend.get_task_meta(result.id, cache=False)
            return meta if meta["status"] == "PROGRESS" else None

        assert wait_for(progress_meta)["result"]["of"] == 3
        assert result.get(timeout=TIMEOUT) == 3

    def test_expired_task_is_revoked(self, app):
        result = tasks.add.apply_async((1, 1), expires=now() - timedelta(seconds=1))
        wait_for(lambda: result.state == states.REVOKED)
        assert row(result.id).status == states.REVOKED

    def test_argsrepr_keeps_a_secret_out_of_the_database(self, app):
        result = tasks.secret_login.apply_async(
            ("alice", "hunter2"), argsrepr="('alice', '***')", kwargsrepr="{}"
        )
        assert result.get(timeout=TIMEOUT) == "logged in alice"
        task = row(result.id)
        assert "hunter2" not in task.task_args and "***" in task.task_args
        assert result.args == "('alice', '***')"

    def test_periodic_task_name_from_the_headers_beat_sends(self, app):
        result = tasks.add.apply_async((1, 2), headers={"periodic_task_name": "nightly-sum"})
        result.get(timeout=TIMEOUT)
        assert row(result.id).periodic_task_name == "nightly-sum"

    def test_children(self, app):
        result = tasks.spawn_children.delay(2)
        child_ids = result.get(timeout=TIMEOUT)
        assert [child.id for child in result.children] == child_ids
        assert [child.get(timeout=TIMEOUT) for child in result.children] == [0, 2]

    def test_forget(self, app):
        result = tasks.add.delay(1, 1)
        result.get(timeout=TIMEOUT)
        result.forget()
        assert not TaskResult.objects.filter(task_id=result.id).exists()

    def test_backend_cleanup_task_deletes_expired_results(self, app):
        old, new = tasks.add.delay(1, 1), tasks.add.delay(2, 2)
        old.get(timeout=TIMEOUT), new.get(timeout=TIMEOUT)
        TaskResult.objects.filter(task_id=old.id).update(date_done=now() - timedelta(days=30))
        app.send_task("celery.backend_cleanup").get(timeout=TIMEOUT)
        assert not TaskResult.objects.filter(task_id=old.id).exists()
        assert TaskResult.objects.filter(task_id=new.id).exists()


class TestGroups:
    def test_group_results_in_order(self, app):
        result = group(tasks.add.s(i, i) for i in range(10)).apply_async()
        assert result.get(timeout=TIMEOUT) == [i * 2 for i in range(10)]
        assert TaskResult.objects.filter(status=states.SUCCESS).count() == 10

    def test_save_restore_delete(self, app):
        result = group(tasks.add.s(1, 1), tasks.add.s(2, 2)).apply_async()
        result.save()
        assert GroupResult.objects.filter(group_id=result.id).exists()
        restored = CeleryGroupResult.restore(result.id, app=app)
        assert restored.get(timeout=TIMEOUT) == [2, 4]
        restored.delete()
        assert not GroupResult.objects.exists()
        assert CeleryGroupResult.restore(result.id, app=app) is None
        CeleryGroupResult("never-saved", [], app=app).delete()

    def test_nested_groups(self, app):
        result = group(group(tasks.add.s(1, 1), tasks.add.s(2, 2)), tasks.add.s(3, 3)).apply_async()
        assert result.get(timeout=TIMEOUT) == [2, 4, 6]


class TestChords:
    def test_body_runs_once_with_the_header_results_in_order(self, app, marker_dir):
        log = f"{marker_dir}/body.log"
        header = [tasks.sleep_then_return.s(0.05 * (10 - i), i) for i in range(10)]
        result = chord(header)(tasks.record_body.s(log))
        assert result.get(timeout=TIMEOUT) == list(range(10))
        assert body_runs(log) == [str(list(range(10)))]
        assert not ChordCounter.objects.exists()

    def test_failed_header_task_fails_the_body_naming_it(self, app):
        failing = tasks.fail.s("header broke")
        result = chord([tasks.add.s(1, 1), failing, tasks.add.s(2, 2)])(tasks.total.s())
        with pytest.raises(ChordError) as raised:
            # The body's own outcome: by default get() re-raises a failed
            # parent's error as soon as it sees one, which races the body.
            result.get(timeout=TIMEOUT, follow_parents=False)
        failed_id = TaskResult.objects.get(task_name="tests.e2e.tasks.fail").task_id
        assert f"Dependency {failed_id} raised" in str(raised.value)
        assert "header broke" in str(raised.value)
        assert not ChordCounter.objects.exists()

    def test_duplicate_header_delivery_fires_the_body_once_when_all_are_ready(self, app, marker_dir):
        """A header task is delivered twice while a slower one still runs."""
        log = f"{marker_dir}/body.log"
        header = [tasks.deliver_twice.s("dup", marker_dir), tasks.sleep_then_return.s(2, "slow"), tasks.echo.s("fast")]
        result = chord(header)(tasks.record_body.s(log))
        assert result.get(timeout=TIMEOUT) == ["dup", "slow", "fast"]
        time.sleep(1)  # a late duplicate would fire a second run now
        assert body_runs(log) == ['["dup", "slow", "fast"]']
        assert not ChordCounter.objects.exists()

    def test_worker_crash_in_a_header_task_neither_loses_nor_repeats_the_body(self, app, marker_dir):
        log = f"{marker_dir}/body.log"
        header = [tasks.crash_once.s("survivor", marker_dir), tasks.echo.s("a"), tasks.echo.s("b")]
        result = chord(header)(tasks.record_body.s(log))
        assert result.get(timeout=TIMEOUT) == ["survivor", "a", "b"]
        assert body_runs(log) == ['["survivor", "a", "b"]']
        assert not ChordCounter.objects.exists()

    def test_many_header_tasks_on_several_processes(self, app, marker_dir):
        log = f"{marker_dir}/body.log"
        result = chord(tasks.add.s(i, 0) for i in range(40))(tasks.record_body.s(log))
        assert result.get(timeout=60) == list(range(40))
        assert len(body_runs(log)) == 1
        assert not ChordCounter.objects.exists()

    def test_header_chain_ending_in_a_group_is_counted_right_from_the_start(self, app, db_worker, marker_dir):
        """Celery counts the group's members (``set_chord_size``): no part looks delivered twice."""
        log = f"{marker_dir}/body.log"
        header = [tasks.add.s(1, 1), chain(tasks.add.s(1, 2), group(tasks.add.s(0), tasks.add.s(10)))]
        result = chord(header)(tasks.record_body.s(log))
        assert result.get(timeout=TIMEOUT) == [2, [3, 13]]
        assert body_runs(log) == ["[2, [3, 13]]"]
        group_id = result.parent.id
        warnings = [line for line in db_worker.log_path.read_text().splitlines() if group_id in line]
        assert warnings == [], warnings

    def test_header_task_that_stores_no_result_fails_the_body_naming_it(self, app):
        header = [tasks.add.s(1, 1), tasks.echo_unstored.s("gone")]
        result = chord(header)(tasks.total.s())
        with pytest.raises(ChordError, match="has no stored result") as raised:
            result.get(timeout=TIMEOUT, follow_parents=False)
        unstored_id = result.parent.results[1].id
        assert f"Dependency {unstored_id}" in str(raised.value)
        assert not ChordCounter.objects.exists()

    def test_chord_inside_a_chain(self, app):
        inner = chord([tasks.add.s(10), tasks.add.s(20)], tasks.total.s())
        workflow = chain(tasks.add.s(1, 1), inner, tasks.add.s(100))
        assert workflow.apply_async().get(timeout=TIMEOUT) == 2 + 10 + 2 + 20 + 100

    def test_chords_inside_a_group(self, app):
        workflow = group(
            chord([tasks.add.s(1, 1), tasks.add.s(2, 2)], tasks.total.s()),
            chord([tasks.add.s(3, 3), tasks.add.s(4, 4)], tasks.total.s()),
        )
        assert workflow.apply_async().get(timeout=TIMEOUT) == [6, 14]
        assert not ChordCounter.objects.exists()
