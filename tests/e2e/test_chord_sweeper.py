"""A chord's deciding worker killed (SIGKILL) while the counter fires: the sweeper sends the body, once.

Real workers (``tests.e2e.celery_app.chord_fault_app``: four prefork
processes, ``acks_late``, on RabbitMQ when it answers, else the session's
broker) store results through ``tests.e2e.backends.PausingDatabaseBackend``.
The test arms one of its pause points; the process that completes the
header stops there, and the test kills it with SIGKILL:

- after the deciding commit, before the body is published: the body is not
  sent by anyone until the sweeper runs; then it runs exactly once;
- after the publish, before the counter is deleted: the body runs; the
  sweeper recognises it by its task id (its stored result) and only
  deletes the counter.
"""
import os
import re
import signal
import time

import pytest
from celery import chord, states

from demo.processes import descendants
from results.models import ChordCounter, TaskResult

from . import celery_app, tasks
from .test_database_backend import body_runs, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

TIMEOUT = 60


def paused_process(pause_dir, point):
    """The pid of the worker process waiting at ``point``, once one is."""
    found = wait_for(lambda: sorted(pause_dir.glob(f"paused-{point}-*")), timeout=TIMEOUT)
    assert len(found) == 1
    return int(found[0].name.rsplit("-", 1)[1])


def kill_at(pause_dir, point, worker):
    """SIGKILL the process paused at ``point``; the worker's pool replaces it."""
    pid = paused_process(pause_dir, point)
    assert pid in descendants(worker.process.pid), "a pool process of this worker pauses, not its main process"
    os.kill(pid, signal.SIGKILL)
    return pid


#: What the worker's main process logs once it has dealt with the killed process's task: the
#: task acknowledged (its SUCCESS was stored), or delivered again and its second return ignored.
SETTLED = re.compile(rb"signal 9 \(SIGKILL\).*?(succeeded before the worker was lost|is ignored)", re.S)


def wait_until_the_killed_task_is_settled(worker, log_offset):
    """Wait for the main process to acknowledge or redeliver the killed process's header task.

    It notices the loss seconds later; a redelivery that came after the test
    would write its row into the next test's database.
    """
    def settled():
        with open(worker.log_path, "rb") as log:
            log.seek(log_offset)
            return SETTLED.search(log.read())

    wait_for(settled, timeout=TIMEOUT)


def sweep():
    """Run the sweeper on the worker, as beat would send it (now: the test does not wait the timeout)."""
    celery_app.chord_fault_app.send_task("results.sweep_chords", kwargs={"older_than": 0})


def counter_gone():
    return not ChordCounter.objects.exists()


def test_worker_killed_between_the_deciding_commit_and_the_publish(chord_fault_worker, pause_dir, marker_dir):
    log = f"{marker_dir}/body.log"
    log_offset = chord_fault_worker.log_path.stat().st_size
    (pause_dir / "arm-before_publish").touch()
    result = chord(tasks.add.s(i, 0) for i in range(6))(tasks.record_body.s(log))
    kill_at(pause_dir, "before_publish", chord_fault_worker)

    counter = wait_for(lambda: ChordCounter.objects.filter(fired_at__isnull=False).first())
    assert counter.body_task_id == result.id and counter.count == 0
    time.sleep(2)  # without the sweeper, this is where the body was lost
    assert body_runs(log) == [] and not TaskResult.objects.filter(task_id=result.id).exists()
    assert ChordCounter.objects.get().firing
    header_states = set(TaskResult.objects.exclude(task_id=result.id).values_list("status", flat=True))
    assert header_states == {states.SUCCESS}, "the header task stored its result before its process was killed"

    sweep()
    assert result.get(timeout=TIMEOUT) == list(range(6))
    wait_for(counter_gone)
    sweep()  # nothing left to send
    wait_until_the_killed_task_is_settled(chord_fault_worker, log_offset)
    time.sleep(1)
    assert len(body_runs(log)) == 1
    assert TaskResult.objects.filter(task_id=result.id).count() == 1
    assert counter_gone()
    worker_log = chord_fault_worker.log_path.read_text(errors="replace")
    assert f"the body {result.id} is sent again" in worker_log


def test_worker_killed_after_the_publish_and_before_the_counter_is_deleted(chord_fault_worker, pause_dir, marker_dir):
    log = f"{marker_dir}/body.log"
    log_offset = chord_fault_worker.log_path.stat().st_size
    (pause_dir / "arm-after_publish").touch()
    result = chord(tasks.add.s(i, 1) for i in range(4))(tasks.record_body.s(log))
    kill_at(pause_dir, "after_publish", chord_fault_worker)
    assert result.get(timeout=TIMEOUT) == [1, 2, 3, 4]  # published before the kill
    assert ChordCounter.objects.get().firing

    sweep()  # the second publish it would be is recognised: the body has a stored result
    wait_for(counter_gone)
    wait_until_the_killed_task_is_settled(chord_fault_worker, log_offset)
    time.sleep(1)
    assert len(body_runs(log)) == 1
    assert TaskResult.objects.filter(task_id=result.id).count() == 1
    worker_log = chord_fault_worker.log_path.read_text(errors="replace")
    assert f"the body {result.id} has a stored result already; not sent again" in worker_log
