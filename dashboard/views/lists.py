"""Filtered, sorted, paginated lists, on the libraries' own seams.

django-filter's ``FilterMixin`` builds the FilterSet from the query string;
django-tables2's ``SingleTableMixin`` builds the Table of the rows it
selects, and its ``RequestConfig`` applies the sort (``?sort=``). The table
then pages itself with one of ``dashboard.pagination``'s paginators: by
cursor for the default order (newest first, or its reverse), by number for
any other, down to ``MAX_PAGE``. Bad paging input is reported on the page
(400), never a crash.

RequestConfig's own pagination is left off (``table_pagination = False``):
it reads only whole page numbers, and would let ``?per_page=`` ask for any
number of rows per page.

A list with ``conditional_polls`` answers its live polls (htmx requests
for the rows' part) with an ETag made of the page's rows as read, and
``304 Not Modified`` while they are the ones the browser holds: the page's
one query still runs (it is what tells), the rendering, most of a poll's
time, is skipped.
"""
from django.utils.cache import get_conditional_response, patch_cache_control
from django.utils.http import quote_etag
from django_filters.views import FilterMixin
from django_tables2 import SingleTableMixin

from ..conf import dashboard_setting
from ..pagination import KeysetPaginator, NumberedPaginator
from ..querystrings import canonical_query
from .base import DashboardView, live_etag

#: The orders that page by cursor, and whether each reads newest first.
KEYSET_ORDERS = {("-date_done",): True, ("date_done",): False}
PAGING_PARAMETERS = ("cursor", "page")


class PagedTableView(SingleTableMixin, DashboardView):
    """A page showing one django-tables2 table, paged by ``paginate_table``; a bad page request answers 400."""

    table_pagination = False

    def get_table(self, **kwargs):
        table = super().get_table(**kwargs)
        if not table.order_by:  # none asked for, or only unknown columns: the table's default
            table.order_by = table._meta.order_by
        self.paginate_table(table)
        return table

    def paginate_table(self, table):
        raise NotImplementedError

    def status(self, context):
        page = getattr(context["table"], "page", None)
        return 400 if page is not None and page.error else 200

    def get(self, request, *args, **kwargs):
        context = self.get_context_data(**kwargs)
        return self.render_to_response(context, status=self.status(context))


def _loaded_values(record) -> tuple:
    """A row's values as read (the columns the list loaded: deferred ones are not fetched for this)."""
    if not hasattr(record, "_meta"):
        return (record,)
    deferred = record.get_deferred_fields()
    return tuple(getattr(record, field.attname) for field in record._meta.concrete_fields
                 if field.attname not in deferred)


class FilteredListView(FilterMixin, PagedTableView):
    """A list page: a FilterSet's form, a Table of the matching rows, a pager.

    Subclasses name the ``filterset_class``, the ``table_class`` and the rows
    (``get_queryset``, a selector). An htmx request targeting
    ``partial_target`` gets the table only, with the view's shareable URL
    pushed to the browser's history (except for live-refresh polls, which
    leave history alone).
    """

    #: Live polls of the rows' part answer 304 while the page's rows are unchanged (see the module's docstring).
    #: Only for tables whose cells show nothing but their rows' own columns.
    conditional_polls = False

    def get_queryset(self):
        raise NotImplementedError

    def etag_parts(self) -> tuple:
        """What else the rows' part shows that may change between two polls (what the user may do...)."""
        return ()

    def rows_etag(self, context) -> str:
        """The page's rows as read, its pager and sort, the subclass's ``etag_parts``, and ``live_etag``'s own."""
        table = context["table"]
        page = table.page
        rows = [_loaded_values(getattr(row, "record", row)) for row in page.object_list]
        pager = (page.error, page.has_next(), page.has_previous(), getattr(page, "number", None))
        return quote_etag(live_etag(self.request, rows, pager, [str(alias) for alias in table.order_by or ()],
                                    *self.etag_parts()))

    def get_filterset_kwargs(self, filterset_class):
        # Bound even without parameters: the form validates (an empty query is valid) and shows its values.
        return {**super().get_filterset_kwargs(filterset_class), "data": self.request.GET}

    def get_table_data(self):
        if self.filterset.is_valid():
            return self.filterset.qs
        return self.filterset.queryset.none()

    def paginate_table(self, table):
        if not self.filterset.is_valid():
            return  # nothing was searched: no pages either
        per_page = dashboard_setting("PER_PAGE")
        order = tuple(str(alias) for alias in table.order_by or ())
        if order in KEYSET_ORDERS:
            table.paginate(KeysetPaginator, per_page, self.request.GET.get("cursor"), descending=KEYSET_ORDERS[order])
        else:
            max_page = dashboard_setting("MAX_PAGE")
            table.paginate(NumberedPaginator, per_page, self.request.GET.get("page"), max_page=max_page)

    def status(self, context):
        return 400 if self.filterset.errors else super().status(context)

    def get(self, request, *args, **kwargs):
        self.filterset = self.get_filterset(self.get_filterset_class())
        valid = self.filterset.is_valid()
        context = self.get_context_data(
            filterset=self.filterset,
            query=canonical_query(request.GET, drop=PAGING_PARAMETERS + ("sort",)),
            refresh=self.filterset.form.cleaned_data.get("refresh") if valid else None,
            **kwargs,
        )
        status = self.status(context)
        etag = None
        if self.conditional_polls and status == 200 and self.is_partial_request():
            etag = self.rows_etag(context)
            not_modified = get_conditional_response(request, etag=etag)
            if not_modified is not None:
                not_modified["ETag"] = etag
                return not_modified
        response = self.push_shareable_url(self.render_to_response(context, status=status))
        if etag is not None:
            response["ETag"] = etag
            patch_cache_control(response, private=True, no_cache=True)  # the browser asks again, with If-None-Match
        return response
