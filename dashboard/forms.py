"""The dashboard's forms: list options (live refresh), the chords' poll interval, operator actions.

The lists' filter forms are built by django-filter from ``dashboard.filters``
on top of ``ListOptionsForm``; everything else a page submits is here.
"""
import json
from collections.abc import Iterable

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from results.models import TaskResult

from . import actions
from .conf import dashboard_setting
from .reports import FailureState
from .statistics.buckets import DEFAULT_WINDOW, WINDOWS, Window


def refresh_choices(off: tuple[str, str], intervals: Iterable[int]) -> list[tuple[str, str]]:
    """The choices of a live-refresh select: ``off`` (value, label) first, then "every N s" per interval."""
    return [off] + [(str(seconds), _("every %(s)s s") % {"s": seconds}) for seconds in intervals]


class DashboardForm(forms.Form):
    """A form whose fields render as the dashboard's form rows (``{{ field.as_field_group }}``).

    A label (or, for a group of inputs such as checkboxes or a range, a
    fieldset's legend), the input, its errors; ``has-error`` marks a field
    the form refused.
    """

    field_template_name = "dashboard/forms/field.html"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.template_name = field.template_name or self.field_template_name


class ListOptionsForm(DashboardForm):
    """Fields of a list form that do not filter rows: the live refresh interval."""

    refresh = forms.TypedChoiceField(
        label=gettext_lazy("Live refresh"),
        required=False,
        coerce=int,
        empty_value=None,
        choices=(),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["refresh"] = self.fields.pop("refresh")  # after the filters
        self.fields["refresh"].choices = refresh_choices(("", _("off")), dashboard_setting("REFRESH_INTERVALS"))


class LiveRefreshForm(DashboardForm):
    """A live page's poll interval: paused, or every N seconds (the ``default_setting`` interval by default)."""

    default_setting = "CHORDS_REFRESH"

    refresh = forms.TypedChoiceField(
        label=gettext_lazy("Live refresh"), required=False, coerce=int, empty_value=None, choices=()
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        intervals = sorted({self.default_refresh(), *dashboard_setting("REFRESH_INTERVALS")})
        self.fields["refresh"].choices = refresh_choices(("0", _("paused")), intervals)

    def default_refresh(self) -> int:
        return dashboard_setting(self.default_setting)

    def interval(self):
        """Seconds between polls; 0 when paused. A bad value falls back to the default."""
        self.is_valid()  # a field that does not clean is left out of cleaned_data
        refresh = self.cleaned_data.get("refresh")
        return self.default_refresh() if refresh is None else refresh


class ChordOptionsForm(LiveRefreshForm):
    """The running chords' poll interval (``CHORDS_REFRESH`` by default)."""

    default_setting = "CHORDS_REFRESH"


class ShownChoiceField(forms.ChoiceField):
    """A choice field whose refusal quotes the value asked for, cut short (a query string may hold kilobytes)."""

    SHOWN = 40

    def validate(self, value):
        try:
            super().validate(value)
        except ValidationError as error:
            if error.code != "invalid_choice":
                raise
            shown = value if len(value) <= self.SHOWN else value[: self.SHOWN] + "…"
            raise ValidationError(self.error_messages["invalid_choice"], code="invalid_choice",
                                  params={"value": shown}) from None


class InsightsOptionsForm(LiveRefreshForm):
    """An insights page's window (``?window=24h``) and poll interval (``INSIGHTS_REFRESH`` by default)."""

    default_setting = "INSIGHTS_REFRESH"

    window = ShownChoiceField(
        label=gettext_lazy("Window"),
        required=False,
        choices=[(window.name, window.label) for window in WINDOWS.values()],
        error_messages={"invalid_choice": gettext_lazy("There is no window %(value)s: choose one of the list.")},
    )
    field_order = ["window", "refresh"]

    def chosen_window(self) -> Window:
        """The window asked for; the default one when none (or a bad one) was."""
        self.is_valid()
        return WINDOWS[self.cleaned_data.get("window") or DEFAULT_WINDOW]


class FailureOptionsForm(InsightsOptionsForm):
    """The failures page's window, and which groups: of a task name, in a state."""

    task_name = forms.CharField(
        label=gettext_lazy("Task name"), required=False, max_length=TaskResult._meta.get_field("task_name").max_length,
    )
    state = ShownChoiceField(
        label=gettext_lazy("State"), required=False, choices=[("", gettext_lazy("any")), *FailureState.CHOICES],
        error_messages={"invalid_choice": gettext_lazy("There is no state %(value)s: choose one of the list.")},
    )
    field_order = ["window", "task_name", "state", "refresh"]

    def clean_task_name(self):
        name = self.cleaned_data["task_name"]
        if "\x00" in name:
            raise forms.ValidationError(gettext_lazy("A task name holds no NUL character."))
        return name

    def chosen(self, name: str) -> str:
        self.is_valid()
        return self.cleaned_data.get(name) or ""


# --- operator actions ---------------------------------------------------------


def not_an_id(task_id, reason):
    """The message refusing ``task_id``: its start, control characters escaped, and why."""
    shown = ascii(task_id[:60]) + ("…" if len(task_id) > 60 else "")
    return _("%(id)s cannot be a task id: %(reason)s.") % {"id": shown, "reason": reason}


class TaskIdsField(forms.CharField):
    """The confirmed task ids, as a JSON list in one hidden field (a thousand fields would hit Django's form limits).

    The confirmation page writes it; anything else a POST puts there is
    refused with the reason before a task is read or anything written:
    JSON nested too deeply for the parser (which would raise
    ``RecursionError``), anything but a flat list of strings, more entries
    than ``ACTION_LIMIT``, a string that cannot be a task id (longer than the
    audit trail's column, a NUL character: ``actions.task_id_refusal``). The request
    body itself is bounded by Django (``DATA_UPLOAD_MAX_MEMORY_SIZE``).
    """

    widget = forms.HiddenInput

    def to_python(self, value):
        value = super().to_python(value)
        try:
            ids = json.loads(value)
        except RecursionError:
            raise ValidationError(
                _("The list of tasks is nested too deeply to read: it must be a JSON list of task ids.")
            ) from None
        except ValueError:
            raise ValidationError(_("The list of tasks is not valid JSON: reload the confirmation page.")) from None
        # An empty string is an id: "all matching" can select a row stored with one.
        if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
            raise ValidationError(
                _("The list of tasks must be a JSON list of task ids (strings): reload the confirmation page.")
            )
        limit = dashboard_setting("ACTION_LIMIT")
        if len(ids) > limit:
            raise ValidationError(_("At most %(limit)s tasks per action.") % {"limit": limit})
        for task_id in ids:
            reason = actions.task_id_refusal(task_id)
            if reason:
                raise ValidationError(not_an_id(task_id, reason))
        return list(dict.fromkeys(ids))


class ActionForm(forms.Form):
    task_ids = TaskIdsField()
    next = forms.CharField(required=False, widget=forms.HiddenInput)


class TerminateForm(ActionForm):
    really = forms.BooleanField(
        required=True,
        label=gettext_lazy("Yes: kill the worker processes running these tasks."),
        error_messages={"required": gettext_lazy("Terminating kills running work: tick the box to confirm it.")},
    )


class NextForm(forms.Form):
    next = forms.CharField(required=False, widget=forms.HiddenInput)


class RedriveForm(DashboardForm):
    """A failure group's bulk retry: its failures from ``since`` to ``until``.

    ``until`` is fixed when the dry run is shown (now, to the microsecond)
    and carried by the form, so what is sent is what the dry run counted,
    not the failures that came in since.
    """

    since = forms.DateTimeField(
        label=gettext_lazy("Failures since"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local", "step": "1"}, format="%Y-%m-%dT%H:%M:%S"),
    )
    until = forms.DateTimeField(widget=forms.HiddenInput)
    next = forms.CharField(required=False, widget=forms.HiddenInput)

    def clean(self):
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since > until:
            raise ValidationError(_("“Failures since” must not be later than the dry run (%(until)s).") % {
                "until": f"{until:%Y-%m-%d %H:%M:%S}"})
        return cleaned
