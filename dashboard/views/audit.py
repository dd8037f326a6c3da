"""``/dashboard/audit/``: the operator actions, newest first, and one action's tasks."""
from django.core.paginator import EmptyPage, PageNotAnInteger
from django.http import Http404
from django.utils.translation import gettext as _
from django_tables2 import LazyPaginator

from ..conf import dashboard_setting
from ..models import AuditEntry
from ..tables import AuditTable
from .base import DashboardView


class AuditListView(DashboardView):
    section = "audit"
    template_name = "dashboard/audit/list.html"

    def get(self, request, *args, **kwargs):
        table = AuditTable(AuditEntry.objects.all())
        error, status = "", 200
        try:
            number = int(request.GET.get("page", "1"))
            if not 1 <= number <= dashboard_setting("MAX_PAGE"):
                raise ValueError(number)
            table.paginate(paginator_class=LazyPaginator, per_page=dashboard_setting("AUDIT_PER_PAGE"), page=number)
        except (ValueError, EmptyPage, PageNotAnInteger, OverflowError):
            error, status = _("No such page: showing the first one."), 400
            table.paginate(paginator_class=LazyPaginator, per_page=dashboard_setting("AUDIT_PER_PAGE"), page=1)
        return self.render_to_response(self.get_context_data(table=table, page_error=error), status=status)


class AuditEntryView(DashboardView):
    section = "audit"
    template_name = "dashboard/audit/entry.html"

    def get(self, request, pk, *args, **kwargs):
        entry = AuditEntry.objects.filter(pk=pk).first()
        if entry is None:
            raise Http404(_("No such audit entry"))
        return self.render_to_response(self.get_context_data(entry=entry, tasks=list(entry.tasks.order_by("id"))))
