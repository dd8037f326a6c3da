"""Shareable list URLs: the query parameters a URL keeps, without the empty ones a submitted form carries.

A filter form sends every field, filled or not (``?q=&status=FAILURE&worker=``);
the address pushed to the browser, the pager's and the sort links keep only
``?status=FAILURE``. Templates reach this through the ``shareable`` filter
(``{% querystring request.GET|shareable:"cursor page" sort=... %}``).
"""
from collections.abc import Iterable

from django.http import HttpRequest, QueryDict


def shareable(querydict: QueryDict, drop: Iterable[str] = ()) -> QueryDict:
    """A copy of ``querydict`` without blank values, and without the keys in ``drop``."""
    drop = set(drop)
    kept = QueryDict(mutable=True)
    for key, values in querydict.lists():
        values = [value for value in values if value.strip() != ""]
        if key not in drop and values:
            kept.setlist(key, values)
    return kept


def canonical_query(querydict: QueryDict, drop: Iterable[str] = ()) -> str:
    """The query string without blank values (and without ``drop``): the shareable form of a view."""
    return shareable(querydict, drop).urlencode()


def shareable_url(request: HttpRequest) -> str:
    """This page's URL with its query string in shareable form."""
    query = canonical_query(request.GET)
    return f"{request.path}?{query}" if query else request.path
