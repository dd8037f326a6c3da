"""Template filters of the dashboard: the same formatting as the tables."""
from django import template
from django.urls import NoReverseMatch, reverse

from .. import chips, formatting, querystrings, timezones
from ..conf import dashboard_setting
from ..statistics import histogram

register = template.Library()

_FORMATS = ("status_badge", "failure_state_badge", "redrive_state_badge", "duration", "local_datetime",
            "datetime_cell", "short_id", "milliseconds", "percent")
for _name in _FORMATS:
    register.filter(_name, getattr(formatting, _name))


@register.simple_tag
def id_link(url_name, value, short=True):
    """``{% id_link "dashboard:task" task_id %}``: the id linking to its page, or "(empty id)" as text.

    Every id a page links is rendered through this tag: one row stored with
    an empty id would otherwise make ``{% url %}`` raise and take the page down.
    """
    if not value:
        return formatting.EMPTY_ID
    return formatting.id_link(value, reverse(url_name, args=[value]), short=short)


@register.filter
def field_label(form, name):
    """The label of ``form``'s field ``name`` (for error summaries)."""
    field = form.fields.get(name)
    return field.label if field is not None and field.label else name


@register.filter
def get_item(mapping, key):
    """``mapping[key]``, or None: dictionary look-ups with a variable key."""
    try:
        return mapping.get(key)
    except AttributeError:
        return None


@register.filter
def shareable(querydict, drop=""):
    """``request.GET|shareable:"cursor page"``: the query without blank values, nor the keys named.

    What ``{% querystring %}`` builds the lists' links from (``dashboard.querystrings``).
    """
    return querystrings.shareable(querydict, drop.split())


@register.filter
def percentile(histogram_counts, fraction):
    """``{{ figures.runtime|percentile:0.95 }}``: a percentile (ms) of a statistics histogram, or None."""
    return histogram.percentile(histogram_counts, float(fraction))


@register.simple_tag
def task_list_url(start=None, end=None, **filters):
    """``{% task_list_url start=span.start end=span.end status="FAILURE" %}``: the task list filtered so."""
    return querystrings.task_list_url(start, end, **filters)


@register.simple_tag
def logout_url():
    """Where the layout's log-out button posts: ``DASHBOARD["LOGOUT_URL"]``, a URL name or a path; None hides it.

    The dashboard mounted in another project must not need a URL name of
    its own project's: a name that does not resolve there shows no button.
    """
    target = dashboard_setting("LOGOUT_URL")
    if not target:
        return None
    if "/" in target:
        return target
    try:
        return reverse(target)
    except NoReverseMatch:
        return None


@register.inclusion_tag("dashboard/partials/filter_chips.html", takes_context=True)
def filter_chips(context, form):
    """The list's active filters as chips (``dashboard.chips``), each removing itself; nothing when none is set."""
    request = context["request"]
    return {"chips": chips.filter_chips(form, request.GET), "path": request.path}


@register.inclusion_tag("dashboard/partials/time_zone_switch.html", takes_context=True)
def time_zone_switch(context):
    """The header's choice of time zone: the server's, or the one this browser chose (``dashboard.timezones``)."""
    if not timezones.switch_enabled():
        return {"enabled": False}
    chosen = timezones.chosen_zone(context["request"]) if "request" in context else None
    return {"enabled": True, "server_zone": timezones.server_zone_name(), "chosen_zone": str(chosen) if chosen else ""}
