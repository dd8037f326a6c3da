"""Chord bodies at least once: the counter fires, is deleted once the body is out, and is swept when stuck.

The worker that completes a header marks the counter firing in the deciding
transaction and deletes it after publishing the body. These tests lose that
worker at both points (its work after the decision is skipped), take the
broker away, and check that ``results.sweeping`` publishes the body with the
same task id, only when it has no stored result yet.
"""
import json
import uuid
from datetime import timedelta

import pytest
from celery import states
from celery.canvas import Signature
from celery.result import AsyncResult
from kombu.exceptions import OperationalError

from results import sweeping
from results.backends.database import Resend, chord_body_task_id
from results.models import ChordCounter, TaskResult
from results.tasks import sweep_chords

from .helpers import make_request
from .test_chords import Chord

pytestmark = pytest.mark.django_db


class Broker:
    """Stands in for the broker: records each publish (task id, task, args), or refuses while ``down``."""

    def __init__(self):
        self.sent = []
        self.down = False
        self.counter_at_publish = []

    def apply_async(self, signature, args=None, kwargs=None, **options):
        if self.down:
            raise OperationalError("connection refused")
        self.counter_at_publish.append(list(ChordCounter.objects.values_list("group_id", "fired_at", "body_task_id")))
        self.sent.append((signature.id, signature.task, (*(args or ()), *signature.args)))  # as Celery merges them
        return AsyncResult(signature.id, app=signature.app)


@pytest.fixture
def broker(monkeypatch):
    broker = Broker()
    monkeypatch.setattr(Signature, "apply_async", lambda self, *a, **kw: broker.apply_async(self, *a, **kw))
    return broker


def lose_worker_once(backend, step):
    """The next call of ``backend.<step>`` does nothing, as if its worker died there; later calls are real."""

    def lost(*args, **kwargs):
        delattr(backend, step)  # the class's own method again, for the sweeper

    setattr(backend, step, lost)


@pytest.fixture
def lost_before_publish(backend):
    """The deciding worker dies right after its commit: nothing after the decision happens."""
    lose_worker_once(backend, "fire_chord")
    return backend


def complete(chord, values=None):
    for index in range(len(chord.task_ids)):
        chord.succeed(index, None if values is None else values[index])


def age(counter, seconds):
    """Make ``counter`` look as if it had been firing for ``seconds``."""
    ChordCounter.objects.filter(pk=counter.pk).update(fired_at=counter.fired_at - timedelta(seconds=seconds))


def test_the_deciding_part_marks_the_counter_firing_and_deletes_it_after_publishing(backend, broker):
    chord = Chord(backend, 3)
    chord.succeed(0)
    chord.succeed(1)
    assert chord.counter().fired_at is None and chord.counter().body is None
    chord.succeed(2)
    assert broker.sent == [(chord.body.id, "app.tasks.body", ([0, 1, 2],))]
    [[(group_id, fired_at, body_task_id)]] = broker.counter_at_publish
    assert group_id == chord.group_id and fired_at is not None and body_task_id == chord.body.id
    assert not ChordCounter.objects.exists()


def test_a_worker_lost_before_publishing_leaves_the_counter_firing_with_the_body(lost_before_publish, broker):
    backend = lost_before_publish
    chord = Chord(backend, 2)
    complete(chord, ["a", "b"])
    counter = chord.counter()
    assert broker.sent == [] and counter.firing and counter.count == 0
    assert counter.body_task_id == chord.body.id
    body = backend.decode_chord_body(counter.body)
    assert (body.id, body.task, body.options) == (chord.body.id, chord.body.task, chord.body.options)
    assert "(firing)" in str(counter)


def test_a_part_returning_to_a_firing_counter_is_ignored(lost_before_publish, broker, caplog):
    chord = Chord(lost_before_publish, 2)
    complete(chord)
    fired_at = chord.counter().fired_at
    chord.succeed(1)  # delivered again (acks_late, the lost worker's task)
    assert broker.sent == [] and chord.counter().fired_at == fired_at
    assert "being sent" in caplog.text


def test_the_sweeper_sends_a_stuck_body_once_with_its_task_id_and_values(lost_before_publish, broker, settings):
    settings.DJANGO_CELERY_RESULTS = {"CHORD_FIRING_TIMEOUT": 120}
    chord = Chord(lost_before_publish, 3)
    complete(chord, ["x", "y", "z"])
    assert sweeping.sweep(lost_before_publish.app).chords == [], "firing for less than the timeout: left alone"
    age(chord.counter(), 121)
    report = sweeping.sweep(lost_before_publish.app)
    assert [(c.group_id, c.body_task_id, c.outcome) for c in report.chords] == [
        (chord.group_id, chord.body.id, Resend.SENT)]
    assert broker.sent == [(chord.body.id, "app.tasks.body", (["x", "y", "z"],))]
    assert not ChordCounter.objects.exists()
    assert sweeping.sweep(lost_before_publish.app, older_than=0).chords == []
    assert len(broker.sent) == 1


def test_a_body_that_has_a_stored_result_is_not_sent_again(backend, broker):
    """The worker was lost after publishing, before deleting the counter; the body has run since."""
    lose_worker_once(backend, "delete_fired_counter")
    chord = Chord(backend, 2)
    complete(chord)
    assert len(broker.sent) == 1 and chord.counter().firing
    backend.mark_as_done(chord.body.id, [0, 1], request=make_request(chord.body.id, task="app.tasks.body"))
    report = sweeping.sweep(backend.app, older_than=0)
    assert [c.outcome for c in report.chords] == [Resend.ALREADY_SENT]
    assert len(broker.sent) == 1
    assert not ChordCounter.objects.exists()
    assert TaskResult.objects.filter(task_id=chord.body.id).count() == 1


def test_a_second_publish_has_the_same_task_id_and_writes_the_same_row(lost_before_publish, broker):
    chord = Chord(lost_before_publish, 1)
    complete(chord)
    counter = chord.counter()
    first = lost_before_publish.decode_chord_body(counter.body)
    second = lost_before_publish.decode_chord_body(counter.body)
    assert first.id == second.id == chord.body.id
    for run in (1, 2):  # both copies run: one row, the later result
        lost_before_publish.mark_as_done(first.id, run, request=make_request(first.id, task="app.tasks.body"))
    assert list(TaskResult.objects.filter(task_id=first.id).values_list("result", flat=True)) == ["2"]


def test_a_body_without_a_task_id_gets_one_derived_from_the_group(backend, broker):
    lose_worker_once(backend, "delete_fired_counter")
    chord = Chord(backend, 1)
    chord.body = backend.app.signature("app.tasks.body")  # sent without freezing it
    chord.succeed(0)
    derived = chord_body_task_id(chord.group_id)
    assert str(uuid.UUID(derived)) == derived and derived == chord_body_task_id(chord.group_id)
    assert broker.sent == [(derived, "app.tasks.body", ([0],))]
    assert chord.counter().body_task_id == derived
    assert [c.outcome for c in sweeping.sweep(backend.app, older_than=0).chords] == [Resend.SENT]
    assert [task_id for task_id, _, _ in broker.sent] == [derived, derived]


def test_a_broker_outage_keeps_the_counter_firing_until_a_sweep_sends_the_body(backend, broker):
    chord = Chord(backend, 2)
    broker.down = True
    complete(chord)
    assert broker.sent == [] and chord.counter().firing
    assert AsyncResult(chord.body.id, backend=backend, app=backend.app).state == states.PENDING, "not failed"
    assert [c.outcome for c in sweeping.sweep(backend.app, older_than=0).chords] == [Resend.BROKER_DOWN]
    assert chord.counter().firing
    broker.down = False
    assert [c.outcome for c in sweeping.sweep(backend.app, older_than=0).chords] == [Resend.SENT]
    assert broker.sent == [(chord.body.id, "app.tasks.body", ([0, 1],))]
    assert not ChordCounter.objects.exists()


def test_a_header_task_running_again_makes_the_sweep_wait(lost_before_publish, broker):
    chord = Chord(lost_before_publish, 2)
    complete(chord)
    chord.start(1)  # its copy runs again (acks_late)
    assert [c.outcome for c in sweeping.sweep(lost_before_publish.app, older_than=0).chords] == [Resend.WAITING]
    assert broker.sent == [] and chord.counter().firing
    chord.succeed(1, "again")  # the copy's return is ignored: the counter is firing
    assert [c.outcome for c in sweeping.sweep(lost_before_publish.app, older_than=0).chords] == [Resend.SENT]
    assert broker.sent == [(chord.body.id, "app.tasks.body", ([0, "again"],))]


def test_a_failed_header_task_fails_the_swept_body(lost_before_publish, broker):
    chord = Chord(lost_before_publish, 2)
    chord.succeed(0)
    chord.fail(1, ValueError("broken"))
    assert [c.outcome for c in sweeping.sweep(lost_before_publish.app, older_than=0).chords] == [Resend.SENT]
    body = AsyncResult(chord.body.id, backend=lost_before_publish, app=lost_before_publish.app)
    assert broker.sent == [] and body.state == states.FAILURE and "broken" in str(body.result)
    assert not ChordCounter.objects.exists()


def test_of_two_sweeps_reading_the_same_counter_one_sends(lost_before_publish, broker):
    chord = Chord(lost_before_publish, 1)
    complete(chord)
    first, second = sweeping.stuck_chords(older_than=0), sweeping.stuck_chords(older_than=0)
    assert lost_before_publish.resend_chord_body(first[0]) == Resend.SENT
    assert lost_before_publish.resend_chord_body(second[0]) == Resend.TAKEN
    assert len(broker.sent) == 1


def test_an_unreadable_body_is_left_for_an_operator(lost_before_publish, broker, caplog):
    chord = Chord(lost_before_publish, 1)
    complete(chord)
    ChordCounter.objects.update(body=json.dumps({"content_type": "application/json", "payload": "{"}))
    assert [c.outcome for c in sweeping.sweep(lost_before_publish.app, older_than=0).chords] == [Resend.UNREADABLE]
    assert broker.sent == [] and chord.counter().firing
    assert "cannot be read" in caplog.text


def test_a_pickled_body_round_trips(make_app, broker):
    backend = make_app(task_serializer="pickle").backend
    lose_worker_once(backend, "fire_chord")
    chord = Chord(backend, 1)
    chord.body = backend.app.signature("app.tasks.body", args=({1, 2},), options={"task_id": "body-pickled"})
    chord.succeed(0)
    assert json.loads(chord.counter().body)["content_encoding"] == "binary"
    assert backend.decode_chord_body(chord.counter().body).args == ({1, 2},)
    assert [c.outcome for c in sweeping.sweep(backend.app, older_than=0).chords] == [Resend.SENT]
    assert broker.sent == [("body-pickled", "app.tasks.body", ([0], {1, 2}))]


def test_the_celery_task_sweeps_with_the_current_app(lost_before_publish, broker, settings):
    settings.DJANGO_CELERY_RESULTS = {"CHORD_FIRING_TIMEOUT": 60}
    chord = Chord(lost_before_publish, 1)
    complete(chord)
    app = lost_before_publish.app
    app.set_current()
    assert sweep_chords.run() == {}
    age(chord.counter(), 61)
    assert sweep_chords.run() == {Resend.SENT: 1}
    assert sweep_chords.run(older_than=0) == {}
    assert [task_id for task_id, _, _ in broker.sent] == [chord.body.id]
