"""Chords on the DatabaseBackend: the counter, the body call and its edge cases.

The header tasks' parts are reported the way a worker reports them
(``mark_as_done`` / ``mark_as_failure`` with the task's request); the body
is not sent to a broker but recorded, by replacing ``Signature.apply_async``.
"""
import json
import logging
import uuid

import pytest
from celery import states
from celery.canvas import Signature
from celery.exceptions import ChordError
from celery.result import AsyncResult

from results.models import ChordCounter, TaskResult

from .helpers import make_request

pytestmark = pytest.mark.django_db


class Boom(Exception):
    pass


@pytest.fixture
def sent(monkeypatch):
    """Bodies sent to the broker, as (task name, args)."""
    calls = []

    def record(self, args=None, kwargs=None, **options):
        calls.append((self.task, tuple(args or ())))
        return AsyncResult(self.id or "sent", app=self.app)

    monkeypatch.setattr(Signature, "apply_async", record)
    return calls


class Chord:
    """A chord applied through the backend: header task ids, group id and body."""

    def __init__(self, backend, size, chord_size=None):
        self.backend = backend
        self.app = backend.app
        self.group_id = f"group-{uuid.uuid4()}"
        self.task_ids = [f"part-{index}-{uuid.uuid4()}" for index in range(size)]
        self.body = self.app.signature("app.tasks.body", options={"task_id": f"body-{uuid.uuid4()}"})
        if chord_size is not None:
            self.body["chord_size"] = chord_size
        # What Celery passes: the header group's id and its frozen results.
        backend.apply_chord((self.group_id, [AsyncResult(t, app=self.app) for t in self.task_ids]), self.body)

    def request(self, index):
        return make_request(self.task_ids[index], group=self.group_id, chord=dict(self.body))

    def succeed(self, index, value=None):
        self.backend.mark_as_done(self.task_ids[index], index if value is None else value, request=self.request(index))

    def fail(self, index, exc):
        self.backend.mark_as_failure(self.task_ids[index], exc, traceback="tb", request=self.request(index))

    def start(self, index):
        self.backend.store_result(self.task_ids[index], {}, states.STARTED, request=self.request(index))

    def counter(self):
        return ChordCounter.objects.filter(group_id=self.group_id).first()


def test_apply_chord_creates_the_counter_with_the_header_size(backend):
    chord = Chord(backend, 3)
    counter = chord.counter()
    assert counter.count == 3
    assert [r.id for r in counter.group_result(app=backend.app).results] == chord.task_ids
    assert [task_id for (task_id, _), _ in json.loads(counter.sub_tasks)] == chord.task_ids


def test_chord_size_of_the_body_wins(backend):
    assert Chord(backend, 3, chord_size=5).counter().count == 5


def test_each_part_decrements_and_the_last_calls_the_body_once_in_order(backend, sent):
    chord = Chord(backend, 3)
    chord.succeed(2, "c")
    chord.succeed(0, "a")
    assert chord.counter().count == 1 and sent == []
    chord.succeed(1, "b")
    assert sent == [("app.tasks.body", (["a", "b", "c"],))]
    assert not ChordCounter.objects.exists()


def test_failed_header_task_fails_the_body_with_a_chord_error_naming_it(backend, sent):
    chord = Chord(backend, 2)
    chord.succeed(0)
    chord.fail(1, Boom("broken part"))
    assert sent == []
    body = AsyncResult(chord.body.id, backend=backend, app=backend.app)
    assert body.state == states.FAILURE
    assert isinstance(body.result, ChordError)
    assert f"Dependency {chord.task_ids[1]} raised" in str(body.result) and "broken part" in str(body.result)
    assert not ChordCounter.objects.exists()


def test_duplicate_delivery_never_fires_early_and_fires_once(backend, sent, caplog):
    """Part 0 is delivered twice while part 2 still runs: zero comes too early."""
    chord = Chord(backend, 3)
    chord.start(2)
    chord.succeed(0)
    with caplog.at_level(logging.WARNING):
        chord.succeed(0)
    assert f"header task {chord.task_ids[0]} returned again" in caplog.text
    chord.succeed(1)
    assert sent == [], "the body must wait for part 2"
    assert chord.counter().count == 1
    chord.succeed(2)
    assert sent == [("app.tasks.body", ([0, 1, 2],))]
    assert not ChordCounter.objects.exists()
    chord.succeed(0)  # a third, late copy: tolerated, never fires again
    assert len(sent) == 1


def test_early_zero_with_the_rerun_still_running(backend, sent):
    chord = Chord(backend, 2)
    chord.succeed(0)
    chord.start(1)
    chord.succeed(0)  # the copy of part 0 counts once more: zero, but part 1 runs
    assert sent == [] and chord.counter().count == 1
    chord.succeed(1)
    assert sent == [("app.tasks.body", ([0, 1],))]


def test_missing_counter_is_logged_and_tolerated(backend, sent, caplog):
    chord = Chord(backend, 1)
    ChordCounter.objects.all().delete()
    with caplog.at_level(logging.WARNING):
        chord.succeed(0)
    assert sent == []
    assert chord.group_id in caplog.text
    assert TaskResult.objects.get(task_id=chord.task_ids[0]).status == states.SUCCESS


def test_parts_without_a_group_are_ignored(backend, sent):
    backend.mark_as_done("lonely", 1, request=make_request("lonely", chord={"task": "x"}))
    assert sent == [] and TaskResult.objects.count() == 1


def test_add_to_chord_grows_the_header(backend, sent):
    chord = Chord(backend, 1)
    backend.add_to_chord(chord.group_id, AsyncResult("extra", app=backend.app))
    assert chord.counter().count == 2
    chord.succeed(0)
    assert sent == []
    backend.mark_as_done("extra", "x", request=make_request("extra", group=chord.group_id, chord=dict(chord.body)))
    assert sent == [("app.tasks.body", ([0, "x"],))]


def test_pickle_serializer_chord(make_app, sent):
    backend = make_app(result_serializer="pickle").backend
    chord = Chord(backend, 2)
    chord.succeed(0, {1, 2})
    chord.succeed(1, {3})
    assert sent == [("app.tasks.body", ([{1, 2}, {3}],))]


def test_header_result_deleted_before_the_body_fires_fails_the_body(backend, sent, monkeypatch):
    chord = Chord(backend, 2)
    chord.succeed(0)
    real_check = backend._missing_and_unready
    monkeypatch.setattr(backend, "_missing_and_unready", lambda ids, db: ([], []))  # the row goes after the check
    TaskResult.objects.filter(task_id=chord.task_ids[0]).delete()
    chord.succeed(1)
    assert sent == []
    body = AsyncResult(chord.body.id, backend=backend, app=backend.app)
    assert isinstance(body.result, ChordError) and "has no stored result" in str(body.result)
    assert real_check(chord.task_ids, "default") == ([chord.task_ids[0]], [])


def test_copy_running_again_after_every_part_returned_makes_the_body_wait(backend, sent, caplog):
    """Part 1 returned, then its second copy started (STARTED replaces SUCCESS) before part 0 returned."""
    chord = Chord(backend, 2)
    chord.succeed(1, "first copy")
    chord.start(1)
    with caplog.at_level(logging.WARNING):
        chord.succeed(0)
    assert sent == [] and "1 are not ready" in caplog.text
    assert chord.counter().count == 0
    chord.succeed(1, "second copy")
    assert sent == [("app.tasks.body", ([0, "second copy"],))]
    assert not ChordCounter.objects.exists()


@pytest.mark.parametrize("stored", [False, True], ids=["ignore_result", "forgotten"])
def test_header_task_without_a_row_fails_the_body_naming_it(backend, sent, stored):
    chord = Chord(backend, 3)
    chord.succeed(0)
    if stored:
        chord.succeed(1)
        TaskResult.objects.filter(task_id=chord.task_ids[1]).delete()
    else:  # what the worker does for a task with ignore_result: the part returns, nothing is stored
        backend.mark_as_done(chord.task_ids[1], 1, request=chord.request(1), store_result=False)
    assert TaskResult.objects.filter(task_id=chord.task_ids[1]).count() == 0
    chord.succeed(2)
    assert sent == []
    body = AsyncResult(chord.body.id, backend=backend, app=backend.app)
    assert body.state == states.FAILURE and isinstance(body.result, ChordError)
    assert f"Dependency {chord.task_ids[1]} has no stored result" in str(body.result)
    assert not ChordCounter.objects.exists()


def test_counter_without_a_record_of_returns_recounts_the_unready_tasks(backend, sent):
    """Counters written by another backend (``returned`` empty): a duplicate delivery counts twice."""
    chord = Chord(backend, 2)
    ChordCounter.objects.update(returned=None)
    chord.succeed(0)
    chord.start(1)
    chord.succeed(0)
    assert sent == [] and chord.counter().count == 1
    chord.succeed(1)
    assert sent == [("app.tasks.body", ([0, 1],))]


def test_nested_groups_count_each_of_their_tasks(backend, sent):
    """A header element that is a chain ending in a group returns once per member of that group."""
    app = backend.app
    inner = app.GroupResult("inner", [AsyncResult("b", app=app), AsyncResult("c", app=app)])
    body = app.signature("app.tasks.body", options={"task_id": "body"})
    backend.apply_chord(("outer", [AsyncResult("a", app=app), inner]), body)
    counter = ChordCounter.objects.get(group_id="outer")
    assert counter.count == 3 and counter.header_task_ids() == ["a", "b", "c"]
    for task_id, value in (("a", 1), ("b", 2), ("c", 3)):
        backend.mark_as_done(task_id, value, request=make_request(task_id, group="outer", chord=dict(body)))
    assert sent == [("app.tasks.body", ([1, [2, 3]],))]


def test_set_chord_size_keeps_the_parts_already_returned(backend, sent):
    chord = Chord(backend, 3)
    backend.set_chord_size(chord.group_id, 5)
    assert chord.counter().count == 5
    chord.succeed(0)
    backend.set_chord_size(chord.group_id, 3)
    assert chord.counter().count == 2
    backend.set_chord_size("no-such-chord", 3)  # tolerated


def test_celery_sizes_a_header_holding_a_chain_that_ends_in_a_group(make_app, sent):
    """What ``chord(...).apply_async()`` writes: Celery's ``set_chord_size`` and the counter agree."""
    from celery import chain, chord, group

    app = make_app(broker_url="memory://")

    @app.task(name="app.tasks.add", shared=False)
    def add(x, y):
        return x + y

    header = [add.s(1, 1), chain(add.s(1, 2), group(add.s(0, 1), add.s(0, 2)))]
    calls = []
    original = app.backend.set_chord_size
    app.backend.set_chord_size = lambda group_id, size: (calls.append(size), original(group_id, size))
    result = chord(header, add.s(0)).apply_async()
    counter = ChordCounter.objects.get()
    assert calls == [3] and counter.count == 3 and len(counter.header_task_ids()) == 3
    assert result.parent is not None


@pytest.mark.parametrize("group_id, message", [("", "must not be empty"), ("g" * 256, "holds at most 255")])
def test_apply_chord_refuses_a_bad_group_id_before_writing(backend, group_id, message):
    body = backend.app.signature("app.tasks.body")
    with pytest.raises(ValueError, match=message):
        backend.apply_chord((group_id, [AsyncResult("a", app=backend.app)]), body)
    assert not ChordCounter.objects.exists()
