"""Django admin for stored results: tasks, groups and chord counters.

Results are what the workers wrote: without
``DJANGO_CELERY_RESULTS['ALLOW_EDITS']`` (read on every request) the admin
only shows them, with no add, change or delete, not even through actions.

The changelists are built for tables of millions of rows: no full-table
``COUNT`` (an estimated count, ``results.counting``), filter choices from
the most recent rows (``results.admin_filters``), a date drill-down made
of index seeks (``results.templatetags.results_admin``) and a search that
only uses indexed equality unless a prefix asks for a text scan.
"""
import datetime
import json

from celery import current_app as celery_app
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .admin_filters import RecentValuesFieldListFilter, StatusListFilter
from .conf import allow_edits
from .counting import EstimatedCountPaginator
from .models import ChordCounter, GroupResult, TaskResult

WIDE = ("extrapretty", "wide")
#: How a list names a row stored with an empty id: Django would link a blank to its page.
EMPTY_ID = _("(empty id)")


def id_column(model, field):
    """A changelist column showing the id ``field`` of ``model``, sorted by it, "(empty id)" when empty."""

    @admin.display(description=model._meta.get_field(field).verbose_name, ordering=field)
    def column(obj):
        return getattr(obj, field) or EMPTY_ID

    column.__name__ = f"shown_{field}"
    return column


class ResultsChangeList(ChangeList):
    """Django's changelist, leaving ``list_deferred_fields`` unread and bad parameters refused.

    A parameter Django cannot turn into a query (a NUL character, which
    PostgreSQL rejects; a date drill-down Python cannot build a date from,
    such as month 13, a year of twenty digits or a period ending after
    9999-12-31; a day that has no UTC date to give the database) is an
    incorrect lookup, which the admin answers with its "invalid parameters"
    redirect, not a server error.
    """

    def get_filters(self, request):
        if any("\x00" in value for _key, values in request.GET.lists() for value in values):
            raise IncorrectLookupParameters("A parameter holds a NUL character.")
        try:
            filters = super().get_filters(request)
        except (ValueError, OverflowError) as error:
            # datetime() and date arithmetic raise OverflowError past their range.
            raise IncorrectLookupParameters(error) from error
        _check_dates_fit_utc(filters[2])
        return filters

    def get_queryset(self, request, exclude_parameters=None):
        queryset = super().get_queryset(request, exclude_parameters)
        return queryset.defer(*self.model_admin.list_deferred_fields)


def _check_dates_fit_utc(lookup_params):
    """Refuse the drill-down's bounds that have no UTC equivalent (the database is given UTC).

    0001-01-01 00:00 east of UTC is still year 0 in UTC, which Python cannot
    hold: the query would fail only when it runs.
    """
    for values in lookup_params.values():
        for value in values if isinstance(values, list) else [values]:
            if isinstance(value, datetime.datetime) and timezone.is_aware(value):
                try:
                    value.astimezone(datetime.UTC)
                except OverflowError as error:
                    raise IncorrectLookupParameters(error) from error


class LargeTableAdmin(admin.ModelAdmin):
    """Changelist behaviour that stays fast however many rows the table holds.

    Search: a term is compared for equality with ``exact_search_fields``
    (each has an index); a term starting with one of ``search_prefixes``
    is matched as a substring of that prefix's fields instead, a scan the
    user asked for.
    """

    paginator = EstimatedCountPaginator
    show_full_result_count = False
    # Facet counts are one COUNT per filter choice.
    show_facets = admin.ShowFacets.NEVER
    exact_search_fields = ()
    search_prefixes = {}
    # Text columns the list does not show: a page need not read their blobs.
    list_deferred_fields = ()

    def get_changelist(self, request, **kwargs):
        return ResultsChangeList

    def exact_search(self, term):
        """The condition a plain search term is looked up with."""
        condition = Q()
        for field in self.exact_search_fields:
            condition |= Q(**{field: term})
        return condition

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        for prefix, fields in self.search_prefixes.items():
            if term.lower().startswith(prefix):
                text = term[len(prefix) :].strip()
                condition = Q()
                for field in fields:
                    condition |= Q(**{f"{field}__icontains": text})
                return queryset.filter(condition), False
        return queryset.filter(self.exact_search(term)), False


class EditsAllowedAdmin(LargeTableAdmin):
    """Add, change and delete only when ``ALLOW_EDITS`` is on (and permissions allow)."""

    def has_add_permission(self, request):
        return allow_edits() and super().has_add_permission(request)

    def has_change_permission(self, request, obj=None):
        return allow_edits() and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return allow_edits() and super().has_delete_permission(request, obj)

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        # The nullable columns (worker, arguments...) have no blank=True on
        # the model (as in the reference): let an edit leave them empty, as NULL.
        if db_field.null and isinstance(db_field, (models.CharField, models.TextField)):
            kwargs.setdefault("required", False)
            kwargs.setdefault("empty_value", None)
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        if allow_edits():
            return self.readonly_fields
        return [field.name for field in self.opts.concrete_fields if not field.primary_key]


@admin.register(TaskResult)
class TaskResultAdmin(EditsAllowedAdmin):
    """Admin of task results."""

    model = TaskResult
    date_hierarchy = "date_done"
    list_display = (
        id_column(TaskResult, "task_id"), "periodic_task_name", "task_name", "date_done", "status", "worker",
    )
    list_filter = (
        ("status", StatusListFilter),
        "date_done",
        ("periodic_task_name", RecentValuesFieldListFilter),
        ("task_name", RecentValuesFieldListFilter),
        ("worker", RecentValuesFieldListFilter),
    )
    readonly_fields = ("date_created", "date_started", "date_done", "result", "meta")
    list_deferred_fields = ("task_args", "task_kwargs", "result", "traceback", "meta")
    search_fields = ("task_name", "task_id", "status", "task_args", "task_kwargs")
    exact_search_fields = ("task_id", "task_name", "status")
    search_prefixes = {
        "name:": ("task_name",),
        "args:": ("task_args", "task_kwargs"),
    }
    search_help_text = _(
        "A task id, task name or state, exactly. Prefix with “name:” to match part of a "
        "task name, or “args:” to search the arguments (both read the whole table)."
    )
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "task_id",
                    "task_name",
                    "periodic_task_name",
                    "status",
                    "worker",
                    "content_type",
                    "content_encoding",
                ),
                "classes": WIDE,
            },
        ),
        (_("Parameters"), {"fields": ("task_args", "task_kwargs"), "classes": WIDE}),
        (
            _("Result"),
            {
                "fields": ("result", "date_created", "date_started", "date_done", "traceback", "meta"),
                "classes": WIDE,
            },
        ),
    )
    actions = ("terminate_task",)

    def exact_search(self, term):
        # States are upper case: "failure" finds FAILURE.
        return super().exact_search(term) | Q(status=term.upper())

    def has_terminate_permission(self, request):
        """Terminating a task changes it: only with edits allowed and the change permission."""
        return self.has_change_permission(request)

    @admin.action(description=_("Terminate selected tasks"), permissions=("terminate",))
    def terminate_task(self, request, queryset):
        task_ids = list(queryset.values_list("task_id", flat=True))
        try:
            celery_app.control.terminate(task_ids)
        except Exception as exc:  # the broker's errors are many; report any of them
            self.message_user(
                request, _("Error while terminating tasks: %(error)s") % {"error": exc}, messages.ERROR
            )
        else:
            self.message_user(
                request,
                _("%(count)d task(s) was terminated successfully.") % {"count": len(task_ids)},
                messages.SUCCESS,
            )


@admin.register(GroupResult)
class GroupResultAdmin(EditsAllowedAdmin):
    """Admin of group results."""

    model = GroupResult
    date_hierarchy = "date_done"
    list_display = (id_column(GroupResult, "group_id"), "date_done")
    list_filter = ("date_done",)
    readonly_fields = ("date_created", "date_done", "result")
    list_deferred_fields = ("result",)
    search_fields = ("group_id",)
    exact_search_fields = ("group_id",)
    search_help_text = _("A group id, exactly.")


@admin.register(ChordCounter)
class ChordCounterAdmin(LargeTableAdmin):
    """Chords waiting for their header tasks: shown, never changed (workers own them)."""

    list_display = (id_column(ChordCounter, "group_id"), "count", "sub_task_count", "fired_at")
    # fired_at: the header is complete and the body is being sent (``results.sweeping`` sends it once stuck)
    fields = ("group_id", "count", "sub_tasks", "fired_at", "body_task_id")
    readonly_fields = fields
    ordering = ("-pk",)
    search_fields = ("group_id",)
    exact_search_fields = ("group_id",)
    search_help_text = _("A chord's group id, exactly.")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("sub-tasks"))
    def sub_task_count(self, counter):
        """How many header tasks the chord has (``count`` says how many are still running)."""
        try:
            return len(json.loads(counter.sub_tasks))
        except (TypeError, ValueError):
            return None
