"""The filter forms of the lists: they parse and validate the query string.

A value the form rejects (an unknown status, a malformed date, a value too
long for its column) is reported in the form, next to its field, and the
list is not queried with it.
"""
import django_filters
from celery import states
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import F
from django.utils.translation import gettext_lazy as _
from django_filters.fields import DateTimeRangeField
from django_filters.widgets import DateRangeWidget, RangeWidget

from results.models import GroupResult, TaskResult

from . import selectors
from .fingerprints import DIGEST_LENGTH as FINGERPRINT_LENGTH
from .forms import ListOptionsForm
from .pagination import KEYSET_DATE

MAX_SEARCH_LENGTH = TaskResult._meta.get_field("task_id").max_length


class DataListInput(forms.TextInput):
    """A text input that suggests values (an HTML ``<datalist>``) but accepts any."""

    template_name = "dashboard/widgets/datalist_input.html"

    def __init__(self, column, attrs=None):
        super().__init__(attrs)
        self.column = column

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        choices = selectors.facet_choices(self.column)
        context["widget"]["attrs"]["list"] = f"{context['widget']['attrs'].get('id', name)}-options"
        context["widget"]["options"] = choices.values
        context["widget"]["complete"] = choices.complete
        return context


def status_choices():
    """Celery's own states, then any other state found in the table (custom states)."""
    known = list(states.ALL_STATES)
    seen = selectors.facet_choices("status").values
    return [(state, state) for state in sorted(set(known) | set(seen))]


class StatusCheckboxes(forms.CheckboxSelectMultiple):
    """A checkbox per status, labelled with the status's badge, as the tables show it."""

    template_name = "dashboard/widgets/status_checkboxes.html"
    option_template_name = "dashboard/widgets/status_checkbox_option.html"


class StatusFilter(django_filters.MultipleChoiceFilter):
    """Several statuses allowed (``?status=FAILURE&status=RETRY``); unknown ones are errors."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("choices", status_choices)
        kwargs.setdefault("widget", StatusCheckboxes)
        kwargs.setdefault("distinct", False)
        super().__init__(*args, **kwargs)

    def filter(self, queryset, value):
        return queryset.filter(status__in=value) if value else queryset


class DateTimeRangeInputs(DateRangeWidget):
    """django-filter's range widget (``<name>_after``, ``<name>_before``) as two labelled ``datetime-local`` inputs."""

    template_name = "dashboard/widgets/date_range.html"
    labels = (_("after"), _("before"))

    def __init__(self, attrs=None):
        inputs = [
            forms.DateTimeInput(attrs={"type": "datetime-local", "step": "1"}, format="%Y-%m-%dT%H:%M:%S")
            for _suffix in self.suffixes
        ]
        super(RangeWidget, self).__init__(inputs, attrs)  # RangeWidget's own would make them text inputs

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        for subwidget, label in zip(context["widget"]["subwidgets"], self.labels, strict=True):
            subwidget["label"] = label
        return context


class OrderedDateTimeRangeField(DateTimeRangeField):
    """A date-time range whose end is not before its start (an empty list would not say why)."""

    widget = DateTimeRangeInputs

    def validate(self, value):
        super().validate(value)
        if value and value.start and value.stop and value.start > value.stop:
            raise ValidationError(_("“Before” must not be earlier than “after”."), code="reversed_range")


class DateTimeRangeFilter(django_filters.DateTimeFromToRangeFilter):
    """django-filter's ``DateTimeFromToRangeFilter`` (``?<name>_after=...&<name>_before=...``, both ends included)."""

    field_class = OrderedDateTimeRangeField


class BaseListFilterSet(django_filters.FilterSet):
    """What the lists' FilterSets share: the range of the rows' last change, and form fields that do not filter.

    ``date_done`` reads ``date_done_after`` and ``date_done_before``;
    ``refresh`` (``ListOptionsForm``) is in the form but filters nothing.
    """

    date_done = DateTimeRangeFilter(label=_("Done"))

    def filter_queryset(self, queryset):
        for name, value in self.form.cleaned_data.items():
            if name in self.filters:
                queryset = self.filters[name].filter(queryset, value)
        return queryset


class TaskFilter(BaseListFilterSet):
    """The task list's filters, as query parameters of ``/dashboard/tasks/``."""

    q = django_filters.CharFilter(
        label=_("Search"),
        method="search",
        max_length=MAX_SEARCH_LENGTH,
        widget=forms.TextInput(attrs={"placeholder": _("task id, id prefix or task name"), "type": "search"}),
    )
    status = StatusFilter(label=_("Status"))
    worker = django_filters.CharFilter(
        label=_("Worker"),
        max_length=TaskResult._meta.get_field("worker").max_length,
        widget=DataListInput("worker"),
    )
    task_name = django_filters.CharFilter(
        label=_("Task name"),
        max_length=TaskResult._meta.get_field("task_name").max_length,
        widget=DataListInput("task_name"),
    )
    periodic_task_name = django_filters.CharFilter(
        label=_("Periodic task"),
        max_length=TaskResult._meta.get_field("periodic_task_name").max_length,
        widget=DataListInput("periodic_task_name"),
    )

    fingerprint = django_filters.CharFilter(
        label=_("Failure group"),
        method="in_failure_group",
        max_length=FINGERPRINT_LENGTH,
        widget=forms.TextInput(attrs={"placeholder": _("fingerprint"), "size": FINGERPRINT_LENGTH}),
    )

    class Meta:
        model = TaskResult
        fields = ["q", "status", "worker", "task_name", "periodic_task_name", "fingerprint"]
        form = ListOptionsForm

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Read the statuses once: the form validates with them and renders them.
        self.filters["status"].extra["choices"] = status_choices()

    def search(self, queryset, name, value):
        return selectors.search_tasks(queryset, value.strip())

    def in_failure_group(self, queryset, name, value):
        """The failures the statistics pass put in the group ``value`` (``statistics.failures``).

        The rows are joined to the group's entries, and the list pages on
        the date each entry was counted at (``pagination.KEYSET_DATE``): a
        page is then read from the group's ``(digest, date_done, row)``
        index, 26 entries for 26 rows, at any cursor, however big the group
        (200,000 failures in one group at 10M rows: 3 ms). Matching on the
        row's own ``date_done`` too would have given the order without the
        annotation, but the planner, taking the two equalities for
        independent, then expects one row and joins the whole results table
        (4 s). A row stored again since it was counted sorts at its counted
        date until the next pass moves it.
        """
        failures = queryset.filter(dashboard_failure__digest=value.strip())
        return failures.annotate(**{KEYSET_DATE: F("dashboard_failure__date_done")})


class GroupFilter(BaseListFilterSet):
    """The group list's filters: a group id or id prefix, and a date range."""

    q = django_filters.CharFilter(
        label=_("Group id"),
        field_name="group_id",
        lookup_expr="startswith",
        max_length=MAX_SEARCH_LENGTH,
        widget=forms.TextInput(attrs={"placeholder": _("group id or id prefix"), "type": "search"}),
    )

    class Meta:
        model = GroupResult
        fields = ["q"]
        form = ListOptionsForm
