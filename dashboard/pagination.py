"""The lists' paginators, driven by django-tables2 (``Table.paginate(paginator_class=...)``).

- ``KeysetPaginator``: the default order (newest first) and its reverse page
  by cursor on ``(date_done, id)``. A page is one query of ``per_page + 1``
  rows starting at the cursor inside the ``(..., date_done, id)`` indexes,
  so page 40,000 costs what page 1 costs. A cursor is a position in the
  URL, ``after.<microseconds since epoch>.<id>`` (the rows past it) or
  ``before...`` (the rows ahead of it).
- ``NumberedPaginator``: any other order pages by number through
  django-tables2's ``LazyPaginator`` (no count), at most ``max_page`` deep.

A queryset annotated with ``KEYSET_DATE`` pages on that date instead of
its rows' own ``date_done``: the task list filtered on a failure group pages
in the order of the group's ``(digest, date_done, row)`` index, the date
each failure was counted at (``filters.TaskFilter.in_failure_group``).

Neither ever counts the rows. A page request that names no page (a
malformed, tampered or oversized cursor, a page number out of range or past
the end of the list) is answered with the first page, and the page's
``error`` says what was wrong: the view answers 400 with that message, never
a 500.
"""
import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from django.core.paginator import EmptyPage, Page
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _
from django_tables2 import LazyPaginator
from django_tables2.rows import BoundRows

Direction = Literal["after", "before"]

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
# Digits only, as ``Cursor.encode`` writes them: nothing else is a position.
CURSOR_PATTERN = re.compile(r"(after|before)\.(-?[0-9]{1,20})\.([0-9]{1,19})")


class InvalidCursor(ValueError):
    """A ``cursor`` parameter that does not name a position in the list."""


@dataclass(frozen=True)
class Cursor:
    """A position in a list ordered by ``(date_done, id)``.

    ``direction`` is ``"after"`` (the rows past this one in list order: the
    next page) or ``"before"`` (the rows ahead of it: the previous page).
    """

    direction: Direction
    date_done: dt.datetime
    pk: int

    def encode(self) -> str:
        micros = (self.date_done - EPOCH) // dt.timedelta(microseconds=1)
        return f"{self.direction}.{micros}.{self.pk}"

    @classmethod
    def decode(cls, text: str) -> "Cursor":
        """The position ``text`` names; ``InvalidCursor`` for anything ``encode`` would not write."""
        match = CURSOR_PATTERN.fullmatch(text)
        try:
            if match is None:
                raise ValueError(text)
            direction, micros, pk = match.group(1), int(match.group(2)), int(match.group(3))
            if not 0 < pk < 2**63:
                raise ValueError(pk)
            date_done = EPOCH + dt.timedelta(microseconds=micros)
        except (ValueError, OverflowError) as exc:
            raise InvalidCursor(f"{text[:40]!r} is not a position in this list") from exc
        return cls(direction, date_done, pk)

    @classmethod
    def at(cls, direction: Direction, row: Any, date_key: str = "date_done") -> "Cursor":
        """The position of ``row`` (anything with ``pk`` and the date ``date_key`` names)."""
        return cls(direction, getattr(row, date_key), row.pk)


#: The annotation a queryset pages on, when it has one, instead of its rows' ``date_done``.
KEYSET_DATE = "keyset_date_done"


def keyset_date(queryset: QuerySet) -> str:
    """The date ``queryset`` pages on: its ``KEYSET_DATE`` annotation, or ``date_done``."""
    return KEYSET_DATE if KEYSET_DATE in queryset.query.annotations else "date_done"


class KeysetPage(Sequence):
    """One page read by cursor: its rows, and the cursors of the pages around it.

    It has no number (``number`` is None): a keyset list knows where its
    neighbours are, not how many pages lie before it.
    """

    number = None

    def __init__(self, object_list, paginator, next_cursor: str | None, previous_cursor: str | None, error=""):
        self.object_list = object_list
        self.paginator = paginator
        self.next_cursor = next_cursor
        self.previous_cursor = previous_cursor
        self.error = error

    def __repr__(self):
        return f"<KeysetPage of {len(self)} rows>"

    def __len__(self):
        return len(self.object_list)

    def __getitem__(self, index):
        return self.object_list[index]

    def has_next(self) -> bool:
        return self.next_cursor is not None

    def has_previous(self) -> bool:
        return self.previous_cursor is not None

    def has_other_pages(self) -> bool:
        return self.has_next() or self.has_previous()


def _queryset_and_wrapper(object_list) -> tuple[QuerySet, Callable[[list], Any]]:
    """The queryset under ``object_list``, and how to hand a page of its rows back in the same kind.

    django-tables2 hands a paginator the table's rows (``BoundRows`` over the
    table's ``TableQuerysetData``); a plain queryset pages into a list.
    """
    if isinstance(object_list, QuerySet):
        return object_list, list
    if isinstance(object_list, BoundRows) and isinstance(getattr(object_list.data, "data", None), QuerySet):
        return object_list.data.data, lambda rows: BoundRows(rows, object_list.table, object_list.pinned_data)
    raise TypeError(f"KeysetPaginator pages a QuerySet (or a table's rows over one), not {type(object_list).__name__}")


class KeysetPaginator:
    """Pages a queryset by cursor on ``(date_done, id)``, newest first unless ``descending`` is False.

    ``page(cursor)`` takes the ``cursor`` parameter as the URL carries it
    (empty or None: the first page). It never counts the rows.
    """

    def __init__(self, object_list, per_page: int, *, descending: bool = True):
        self.object_list = object_list
        self.per_page = per_page
        self.descending = descending
        self.queryset, self._wrap = _queryset_and_wrapper(object_list)
        self.date_key = keyset_date(self.queryset)

    def query(self, cursor: Cursor | None) -> QuerySet:
        """The one query a page reads: ``per_page + 1`` rows past ``cursor`` in the direction it names.

        It starts at the cursor through the ``(..., date_done, id)`` indexes,
        so its cost does not depend on how deep the page is.
        """
        forward = cursor is None or cursor.direction == "after"
        newest_first = self.descending == forward
        queryset, date = self.queryset, self.date_key
        if cursor is not None:
            # Rows strictly past the cursor in the direction read. The
            # inclusive bound on the date alone is what the index range
            # starts from; the OR only sorts out rows sharing its date.
            moment = cursor.date_done
            if newest_first:
                queryset = queryset.filter(
                    Q(**{f"{date}__lte": moment}), Q(**{f"{date}__lt": moment}) | Q(id__lt=cursor.pk)
                )
            else:
                queryset = queryset.filter(
                    Q(**{f"{date}__gte": moment}), Q(**{f"{date}__gt": moment}) | Q(id__gt=cursor.pk)
                )
        order = (f"-{date}", "-id") if newest_first else (date, "id")
        return queryset.order_by(*order)[: self.per_page + 1]

    def cursor_at(self, direction: Direction, row: Any) -> Cursor:
        """The position of ``row`` in this paginator's order."""
        return Cursor.at(direction, row, self.date_key)

    def page(self, cursor: str | None = None) -> KeysetPage:
        """The page at ``cursor`` (its text from the URL); the first page, with ``error`` set, for a bad one."""
        position, error = None, ""
        text = (cursor or "").strip()
        if text:
            try:
                position = Cursor.decode(text)
            except InvalidCursor as exc:
                error = _("Bad cursor: %(error)s. Showing the first page.") % {"error": exc}
        rows = list(self.query(position))
        forward = position is None or position.direction == "after"
        more = len(rows) > self.per_page
        rows = rows[: self.per_page]
        if not forward:
            rows.reverse()
        # Read forward, one row more than a page means there is a next page, and
        # a cursor means there was a previous one; read backward, the reverse.
        has_next = bool(rows) and (more if forward else True)
        has_previous = bool(rows) and (position is not None if forward else more)
        next_cursor = self.cursor_at("after", rows[-1]).encode() if has_next else None
        previous_cursor = self.cursor_at("before", rows[0]).encode() if has_previous else None
        return KeysetPage(self._wrap(rows), self, next_cursor, previous_cursor, error)


class NumberedPage(Page):
    """A page of ``NumberedPaginator``: Django's ``Page``, plus what was wrong with the page asked for."""

    def __init__(self, object_list, number, paginator, error=""):
        super().__init__(object_list, number, paginator)
        self.error = error


class NumberedPaginator(LazyPaginator):
    """django-tables2's ``LazyPaginator`` (no count: one row past the page tells whether there is a next one), at
    most ``max_page`` pages deep.

    ``page(number)`` takes the ``page`` parameter as the URL carries it
    (empty or None: the first page).
    """

    def __init__(self, object_list, per_page: int, *, max_page: int, **kwargs):
        self.max_page = max_page
        super().__init__(object_list, per_page, **kwargs)

    def page(self, number: str | int | None = None) -> NumberedPage:
        raw = "" if number is None else str(number).strip()
        try:
            wanted = int(raw or "1")
            if not 1 <= wanted <= self.max_page:
                raise ValueError(wanted)
        except ValueError:
            message = _("Page %(page)s does not exist: pages go from 1 to %(max)s in this order.")
            return self._first_page(message % {"page": raw[:20], "max": self.max_page})
        try:
            page = super().page(wanted)
        except EmptyPage:
            return self._first_page(_("Page %(page)s is past the end of the list.") % {"page": wanted})
        return NumberedPage(page.object_list, page.number, self)

    def _first_page(self, error):
        page = super().page(1)
        return NumberedPage(page.object_list, page.number, self, f"{error} {_('Showing the first page.')}")
