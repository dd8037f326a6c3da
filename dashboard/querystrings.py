"""Shareable list URLs: the query parameters a URL keeps, without the empty ones a submitted form carries.

A filter form sends every field, filled or not (``?q=&status=FAILURE&worker=``);
the address pushed to the browser, the pager's and the sort links keep only
``?status=FAILURE``. Templates reach this through the ``shareable`` filter
(``{% querystring request.GET|shareable:"cursor page" sort=... %}``).
The insights pages link into the task list through ``task_list_url``.
"""
from collections.abc import Iterable
from datetime import datetime, timedelta
from urllib.parse import quote_plus

from django import forms
from django.forms.widgets import MultiWidget
from django.http import HttpRequest, QueryDict
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode


def shareable(querydict: QueryDict, drop: Iterable[str] = ()) -> QueryDict:
    """A copy of ``querydict`` without blank values, and without the keys in ``drop``."""
    drop = set(drop)
    kept = QueryDict(mutable=True)
    for key, values in querydict.lists():
        values = [value for value in values if value.strip() != ""]
        if key not in drop and values:
            kept.setlist(key, values)
    return kept


def field_parameters(name: str, field: forms.Field) -> list[tuple[str, str]]:
    """The query parameters a form field reads, each with what names its part ('' when the field reads one).

    django-filter's range widgets read ``<name>_<suffix>`` (``date_done_after``,
    with its label "after" where the widget has ``labels``); Django's other
    multi-widgets read ``<name><widgets_name>``.
    """
    widget = field.widget
    suffixes = getattr(widget, "suffixes", None)
    if suffixes:
        labels = getattr(widget, "labels", suffixes)
        return [(widget.suffixed(name, suffix), str(label)) for suffix, label in zip(suffixes, labels, strict=True)]
    if isinstance(widget, MultiWidget):
        return [(name + suffix, suffix.strip("_")) for suffix in widget.widgets_names]
    return [(name, "")]


def canonical_query(querydict: QueryDict, drop: Iterable[str] = ()) -> str:
    """The query string without blank values (and without ``drop``): the shareable form of a view."""
    return shareable(querydict, drop).urlencode()


def shareable_url(request: HttpRequest) -> str:
    """This page's URL with its query string in shareable form."""
    query = canonical_query(request.GET)
    return f"{request.path}?{query}" if query else request.path


def task_list_url(start: datetime | None = None, end: datetime | None = None, **filters: str) -> str:
    """The task list filtered on ``filters`` (``status=``, ``task_name=``...) and done in ``[start, end)``.

    The list's date range includes both ends, so ``end`` is sent as the
    last microsecond before it; dates go in local time, as its form shows them.
    """
    query = {name: value for name, value in filters.items() if value}
    if start is not None:
        query["date_done_after"] = _local(start)
    if end is not None:
        query["date_done_before"] = _local(end - timedelta(microseconds=1))
    url = reverse("dashboard:tasks")
    return f"{url}?{urlencode(query)}" if query else url


class BucketLinks:
    """A chart's links into the task list: ``links(start, end, statuses)`` is ``{status: task_list_url(start, end,
    status=status, **filters)}``, the same URLs.

    A chart links each of its hundreds of segments: what all its links share
    (the list's URL, the filters, the time zone) is worked out once, and a
    bucket's dates once for all its states.
    """

    def __init__(self, **filters: str):
        self.base = reverse("dashboard:tasks")
        self.fixed = "".join(f"&{quote_plus(name)}={quote_plus(value)}" for name, value in filters.items() if value)
        self.zone = timezone.get_current_timezone()

    def links(self, start: datetime, end: datetime, statuses: Iterable[str]) -> dict[str, str]:
        dates = (f"&date_done_after={self._date(start)}"
                 f"&date_done_before={self._date(end - timedelta(microseconds=1))}")
        links = {}
        for status in statuses:
            if status:
                links[status] = f"{self.base}?status={quote_plus(status)}{self.fixed}{dates}"
            else:
                links[status] = f"{self.base}?{(self.fixed + dates)[1:]}"
        return links

    def _date(self, moment: datetime) -> str:
        """``quote_plus(_local(moment))``: of an ISO date's characters (digits, ``-T.:``) only ``:`` is quoted."""
        return _local(moment, self.zone).replace(":", "%3A")


def _local(moment: datetime, zone=None) -> str:
    """``moment`` as the task list's form shows it: in ``zone`` (the current time zone), without its offset."""
    return timezone.localtime(moment, zone).replace(tzinfo=None).isoformat()
