"""The chord sweeper: publish the body of every chord stuck firing.

A chord's counter is *firing* from the transaction that decided to call its
body until that body is published, when the counter is deleted. A counter
firing for longer than ``CHORD_FIRING_TIMEOUT`` lost the worker that decided
(killed, out of memory, its machine gone) between the two: without a sweep
its body would never be sent. ``sweep()`` sends it, with the task id it was
given before the first publish, and never when the body has a stored result
already. It runs as the ``results.sweep_chords`` Celery task (put it in the
beat schedule) and from the dashboard's chords page.
"""
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta

from celery import current_app
from django.db import router

from .backends.database import DatabaseBackend, Resend
from .conf import chord_firing_timeout
from .models import ChordCounter
from .utils import now

#: Chords one sweep handles at most; the next sweep goes on with the rest.
SWEEP_LIMIT = 500


@dataclass
class SweptChord:
    group_id: str
    body_task_id: str | None
    outcome: str  # a ``Resend``


@dataclass
class SweepReport:
    """What one sweep did, chord by chord."""

    chords: list[SweptChord] = field(default_factory=list)

    def count(self, outcome):
        return sum(1 for chord in self.chords if chord.outcome == outcome)

    def as_dict(self):
        """``{outcome: number}``: the sweep task's result, and what its log says."""
        return dict(Counter(chord.outcome for chord in self.chords))


def stuck_chords(older_than: float | None = None, limit: int = SWEEP_LIMIT) -> list[ChordCounter]:
    """Counters firing for more than ``older_than`` seconds (default ``CHORD_FIRING_TIMEOUT``), longest first."""
    seconds = chord_firing_timeout() if older_than is None else max(float(older_than), 0.0)
    cutoff = now() - timedelta(seconds=seconds)
    counters = ChordCounter.objects.using(router.db_for_write(ChordCounter))
    return list(counters.filter(fired_at__lte=cutoff).order_by("fired_at", "pk")[:limit])


def database_backend(app=None) -> DatabaseBackend:
    """The app's result backend when it is the database one, else a database backend for the app.

    Chord counters are the database backend's: a project whose results go
    elsewhere has none, and a sweep finds nothing.
    """
    app = app or current_app._get_current_object()
    backend = app.backend
    return backend if isinstance(backend, DatabaseBackend) else DatabaseBackend(app=app)


def sweep(app=None, older_than: float | None = None) -> SweepReport:
    """Publish the body of each chord firing for longer than ``older_than`` seconds (``CHORD_FIRING_TIMEOUT``)."""
    backend = database_backend(app)
    report = SweepReport()
    for counter in stuck_chords(older_than):
        outcome = backend.resend_chord_body(counter)
        report.chords.append(SweptChord(counter.group_id, counter.body_task_id, Resend(outcome)))
    return report
