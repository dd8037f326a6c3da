"""``/dashboard/audit/``: the operator actions, newest first, and one action's tasks."""
from django.http import Http404
from django.utils.translation import gettext as _

from .. import selectors
from ..conf import dashboard_setting
from ..pagination import NumberedPaginator
from ..tables import AuditTable
from .base import DashboardView
from .lists import PagedTableView


class AuditListView(PagedTableView):
    section = "audit"
    template_name = "dashboard/audit/list.html"
    table_class = AuditTable

    def get_table_data(self):
        return selectors.audit_entries()

    def paginate_table(self, table):
        per_page, max_page = dashboard_setting("AUDIT_PER_PAGE"), dashboard_setting("MAX_PAGE")
        table.paginate(NumberedPaginator, per_page, self.request.GET.get("page"), max_page=max_page)


class AuditEntryView(DashboardView):
    section = "audit"
    template_name = "dashboard/audit/entry.html"

    def get(self, request, pk, *args, **kwargs):
        entry = selectors.audit_entry(pk)
        if entry is None:
            raise Http404(_("No such audit entry"))
        return self.render_to_response(self.get_context_data(entry=entry, tasks=selectors.audited_tasks(entry)))
