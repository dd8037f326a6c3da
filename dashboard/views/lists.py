"""Filtered, sorted, paginated lists: what the task and group lists share.

The default order (newest first, or its reverse) pages by cursor on
``(date_done, id)``; any other sort pages by number through django-tables2's
``LazyPaginator`` (no count), down to ``MAX_PAGE``. Bad paging input is
reported on the page, never a crash.
"""
from dataclasses import dataclass, field

from django.core.paginator import EmptyPage, PageNotAnInteger
from django.utils.translation import gettext as _
from django_tables2 import LazyPaginator
from django_tables2.rows import BoundRows

from .. import selectors
from ..conf import dashboard_setting
from .base import DashboardView, canonical_query, url_with

KEYSET_ORDERS = {("-date_done",): True, ("date_done",): False}
PAGING_PARAMETERS = ("cursor", "page")


@dataclass
class Pager:
    """Links to the neighbouring pages, whichever way the list pages."""

    has_next: bool = False
    has_previous: bool = False
    next_url: str = ""
    previous_url: str = ""
    first_url: str = ""
    number: int | None = None
    errors: list = field(default_factory=list)


@dataclass
class _RowsPage:
    """What django-tables2 renders as ``table.page``: the rows of this page."""

    object_list: BoundRows


class FilteredListView(DashboardView):
    """A list page: a FilterSet's form, a Table of the matching rows, a pager.

    Subclasses name the ``filterset_class``, the ``table_class`` and the
    ``rows`` selector. An htmx request targeting ``partial_target`` gets the
    table only, with the view's shareable URL pushed to the browser's history
    (except for live-refresh polls, which leave history alone).
    """

    filterset_class = None
    table_class = None

    def rows(self):
        raise NotImplementedError

    def get_filterset(self):
        return self.filterset_class(self.request.GET, queryset=self.rows(), request=self.request)

    def get_table_class(self):
        return self.table_class

    def get(self, request, *args, **kwargs):
        filterset = self.get_filterset()
        table = self.get_table_class()(filterset.qs if filterset.is_valid() else filterset.queryset.none())
        table.order_by = request.GET.get(table.order_by_field)
        if not table.order_by:  # none asked for, or only unknown columns: the default
            table.order_by = table._meta.order_by
        pager = self.paginate(table) if filterset.is_valid() else Pager()
        # ``{% render_table %}`` renders the table's template with only the
        # table in its context: the pager travels with the table.
        table.pager = pager
        context = self.get_context_data(
            filterset=filterset,
            table=table,
            pager=pager,
            query=canonical_query(request.GET, drop=PAGING_PARAMETERS + ("sort",)),
            refresh=filterset.form.cleaned_data.get("refresh") if filterset.is_valid() else None,
            **kwargs,
        )
        status = 400 if (filterset.errors or pager.errors) else 200
        return self.push_shareable_url(self.render_to_response(context, status=status))

    def paginate(self, table):
        per_page = dashboard_setting("PER_PAGE")
        order = tuple(str(alias) for alias in table.order_by or ())
        if order in KEYSET_ORDERS:
            return self._paginate_by_cursor(table, per_page, descending=KEYSET_ORDERS[order])
        return self._paginate_by_number(table, per_page)

    def _paginate_by_cursor(self, table, per_page, descending):
        request = self.request
        pager = Pager(first_url=url_with(request, drop=PAGING_PARAMETERS))
        cursor = None
        raw = request.GET.get("cursor", "").strip()
        if raw:
            try:
                cursor = selectors.Cursor.decode(raw)
            except selectors.InvalidCursor as exc:
                pager.errors.append(_("Bad cursor: %(error)s. Showing the first page.") % {"error": exc})
        page = selectors.keyset_page(table.data.data, cursor, per_page, descending=descending)
        table.page = _RowsPage(BoundRows(page.rows, table))
        pager.has_next, pager.has_previous = page.has_next, page.has_previous
        if page.has_next:
            pager.next_url = url_with(request, drop=("page",), cursor=page.next_cursor)
        if page.has_previous:
            pager.previous_url = url_with(request, drop=("page",), cursor=page.previous_cursor)
        return pager

    def _paginate_by_number(self, table, per_page):
        request = self.request
        pager = Pager(first_url=url_with(request, drop=PAGING_PARAMETERS))
        max_page = dashboard_setting("MAX_PAGE")
        raw = request.GET.get("page", "").strip() or "1"
        try:
            number = int(raw)
            if not 1 <= number <= max_page:
                raise ValueError(number)
        except ValueError:
            pager.errors.append(
                _("Page %(page)s does not exist: pages go from 1 to %(max)s in this order; narrow the filters to go further.")
                % {"page": raw[:20], "max": max_page}
            )
            number = 1
        try:
            table.paginate(paginator_class=LazyPaginator, per_page=per_page, page=number)
        except (EmptyPage, PageNotAnInteger):
            table.page = _RowsPage(BoundRows([], table))
            pager.errors.append(_("Page %(page)s is past the end of the list.") % {"page": number})
            return pager
        pager.number = number
        pager.has_previous = number > 1
        pager.has_next = table.page.has_next()
        if pager.has_previous:
            pager.previous_url = url_with(request, drop=("cursor",), page=number - 1)
        if pager.has_next:
            pager.next_url = url_with(request, drop=("cursor",), page=number + 1)
        return pager
