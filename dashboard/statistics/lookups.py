"""Conditions the pass reads its own rows back with."""
from collections import defaultdict
from collections.abc import Iterable

from django.db.models import Q


def any_of(pairs: Iterable[tuple], outer: str, inner: str) -> Q:
    """Rows whose ``(outer, inner)`` is one of ``pairs``: one ``inner__in`` per ``outer`` value, or'ed.

    A pass touches few starts per granularity and few keys per dimension,
    so this stays a handful of index ranges, not one condition per pair.
    """
    grouped = defaultdict(list)
    for first, second in pairs:
        grouped[first].append(second)
    condition = Q(pk__in=[])
    for first, seconds in grouped.items():
        condition |= Q(**{outer: first, f"{inner}__in": seconds})
    return condition
