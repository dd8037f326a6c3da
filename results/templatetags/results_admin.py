"""Template tags of the results admin.

``bounded_date_hierarchy`` replaces Django's ``date_hierarchy`` tag on the
results changelists. Django finds the years, months or days that hold rows
with ``SELECT DISTINCT`` over every row in scope: at the top level, the
whole table. Here the candidate periods come from the first and last dates
(two seeks on the date index) and the periods holding rows are found in
one query of ``EXISTS`` subqueries, each a seek on that index: the cost
grows with the number of periods shown, not with the number of rows.
"""
import calendar
import datetime
from itertools import pairwise

from django import template
from django.conf import settings
from django.db.models import Exists
from django.utils import formats, timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _

register = template.Library()


def _local(value):
    return timezone.localtime(value) if timezone.is_aware(value) else value


def _start_of(day):
    """The first instant of ``day``, in the current time zone (as the changelist filters)."""
    moment = datetime.datetime.combine(day, datetime.time())
    return timezone.make_aware(moment) if settings.USE_TZ else moment


def periods_with_rows(queryset, field, starts):
    """The periods ``[starts[i], starts[i + 1])`` of ``field`` that hold rows of ``queryset``.

    ``starts`` are dates; one query answers for every period.
    """
    flags = {
        f"p{i}": Exists(
            queryset.filter(**{f"{field}__gte": _start_of(lo), f"{field}__lt": _start_of(hi)})
        )
        for i, (lo, hi) in enumerate(pairwise(starts))
    }
    if not flags:
        return []
    manager = queryset.model._default_manager.db_manager(queryset.db)
    rows = list(manager.order_by().annotate(**flags).values_list(*flags)[:1])
    present = rows[0] if rows else [False] * len(flags)
    # One flag per period, so one fewer than ``starts``: the last start only ends the last period.
    return [start for start, has_rows in zip(starts, present, strict=False) if has_rows]


@register.inclusion_tag("admin/date_hierarchy.html")
def bounded_date_hierarchy(cl):
    """The context of Django's ``admin/date_hierarchy.html``, computed without scans."""
    field = cl.date_hierarchy
    year, month, day = (
        int(cl.params[key]) if cl.params.get(key) else None
        for key in (f"{field}__year", f"{field}__month", f"{field}__day")
    )
    queryset = cl.queryset.order_by()

    def link(filters):
        return cl.get_query_string(filters, [f"{field}__"])

    if year is None:  # a month or day alone narrows the rows, not the level
        first = queryset.order_by(field).values_list(field, flat=True).first()
        if first is None:
            return {"show": True, "back": None, "choices": []}
        last = queryset.order_by(f"-{field}").values_list(field, flat=True).first()
        first, last = _local(first), _local(last)
        if first.year == last.year:
            year = first.year
            if first.month == last.month:
                month = first.month
        else:
            years = [datetime.date(y, 1, 1) for y in range(first.year, last.year + 2)]
            return {
                "show": True,
                "back": None,
                "choices": [
                    {"link": link({f"{field}__year": start.year}), "title": str(start.year)}
                    for start in periods_with_rows(queryset, field, years)
                ],
            }

    if year and month and day:
        shown = datetime.date(year, month, day)
        return {
            "show": True,
            "back": {
                "link": link({f"{field}__year": year, f"{field}__month": month}),
                "title": capfirst(formats.date_format(shown, "YEAR_MONTH_FORMAT")),
            },
            "choices": [{"title": capfirst(formats.date_format(shown, "MONTH_DAY_FORMAT"))}],
        }
    if year and month:
        length = calendar.monthrange(year, month)[1]
        days = [datetime.date(year, month, 1) + datetime.timedelta(days=n) for n in range(length + 1)]
        return {
            "show": True,
            "back": {"link": link({f"{field}__year": year}), "title": str(year)},
            "choices": [
                {
                    "link": link(
                        {f"{field}__year": year, f"{field}__month": month, f"{field}__day": start.day}
                    ),
                    "title": capfirst(formats.date_format(start, "MONTH_DAY_FORMAT")),
                }
                for start in periods_with_rows(queryset, field, days)
            ],
        }
    months = [datetime.date(year, m, 1) for m in range(1, 13)] + [datetime.date(year + 1, 1, 1)]
    return {
        "show": True,
        "back": {"link": link({}), "title": _("All dates")},
        "choices": [
            {
                "link": link({f"{field}__year": year, f"{field}__month": start.month}),
                "title": capfirst(formats.date_format(start, "YEAR_MONTH_FORMAT")),
            }
            for start in periods_with_rows(queryset, field, months)
        ],
    }
