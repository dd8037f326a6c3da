"""Small helpers shared by the models, managers and backends (and the dashboard)."""
from collections.abc import Iterable, Iterator, Sequence
from typing import TypeVar

from django.utils import timezone

from .conf import id_batch_size

T = TypeVar("T")


def now():
    """The current time: aware UTC when ``USE_TZ`` is on, naive local time otherwise."""
    return timezone.now()


def batched(items: Iterable[T], size: int | None = None) -> Iterator[Sequence[T]]:
    """``items`` in consecutive slices of at most ``size``: one ``IN (...)`` query each.

    ``size`` defaults to ``DJANGO_CELERY_RESULTS['ID_BATCH_SIZE']``
    (``results.conf.id_batch_size``), the one bound every chunked query uses.
    """
    size = size or id_batch_size()
    items = items if isinstance(items, Sequence) else list(items)
    for start in range(0, len(items), size):
        yield items[start : start + size]
