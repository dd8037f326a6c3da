"""Template filters of the dashboard: the same formatting as the tables."""
from django import template

from .. import formatting

register = template.Library()


@register.filter
def field_label(form, name):
    """The label of ``form``'s field ``name`` (for error summaries)."""
    field = form.fields.get(name)
    return field.label if field is not None and field.label else name


@register.filter
def status_badge(status):
    return formatting.status_badge(status)


@register.filter
def duration(delta):
    return formatting.duration(delta)


@register.filter
def local_datetime(value):
    return formatting.local_datetime(value)


@register.filter
def datetime_cell(value):
    return formatting.datetime_cell(value)


@register.filter
def short_id(value):
    return formatting.short_id(value)


@register.filter
def get_item(mapping, key):
    """``mapping[key]``, or None: dictionary look-ups with a variable key."""
    try:
        return mapping.get(key)
    except AttributeError:
        return None
