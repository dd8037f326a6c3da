"""The ``results`` app's Celery task: the chord sweeper, for a project's beat schedule.

Schedule ``results.sweep_chords`` every minute or so::

    CELERY_BEAT_SCHEDULE = {"sweep-chords": {"task": "results.sweep_chords", "schedule": 60.0}}

Its result is not stored (one row a minute would crowd the results table);
the worker's log says what each sweep did.
"""
from celery import shared_task
from celery.utils.log import get_task_logger

from . import sweeping

logger = get_task_logger(__name__)


@shared_task(name="results.sweep_chords", ignore_result=True)
def sweep_chords(older_than: float | None = None) -> dict[str, int]:
    """Publish the body of every chord stuck firing (``results.sweeping``); ``{outcome: chords}``.

    ``older_than`` (seconds) overrides ``CHORD_FIRING_TIMEOUT`` for this sweep.
    """
    report = sweeping.sweep(older_than=older_than)
    if report.chords:
        logger.info("Chord sweep: %s", report.as_dict())
    return report.as_dict()
