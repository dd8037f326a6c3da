"""The filters a list is showing, as removable chips above its table.

A long filter form says little at a glance about what is filtered; the
chips name each value in the query string ("Status: FAILURE", "Done
after: 2026-12-03 08:00") with a link to the same list without it. Every
value the URL carries gets a chip, valid or not, so a rejected one can be
removed as easily as the others. Fields that filter nothing (the live
refresh interval) and the pager's position get none; removing a chip goes
back to the first page and keeps the sort.
"""
from dataclasses import dataclass

from django import forms
from django.http import QueryDict

from .querystrings import field_parameters, shareable

#: Parameters that are not filters: no chip, and dropped from a chip's link (page) or kept (sort, refresh).
POSITION = ("cursor", "page")
NOT_FILTERS = ("refresh", "sort", "window", *POSITION)


@dataclass(frozen=True)
class FilterChip:
    label: str
    value: str
    remove_query: str  # "?..." without this value (or "" when nothing is left)


def filter_chips(form: forms.Form, query: QueryDict) -> list[FilterChip]:
    """One chip per filter value in ``query``, in the form's field order, each linking to ``query`` without it."""
    kept = shareable(query, drop=POSITION)
    chips = []
    for name, field in form.fields.items():
        if name in NOT_FILTERS:
            continue
        for parameter, part in field_parameters(name, field):
            label = f"{field.label} {part}" if part else str(field.label)
            for value in kept.getlist(parameter):
                rest = kept.copy()
                rest.setlist(parameter, [other for other in kept.getlist(parameter) if other != value])
                encoded = rest.urlencode()
                chips.append(FilterChip(label, _shown(field, value), f"?{encoded}" if encoded else ""))
    return chips


def _shown(field: forms.Field, value: str) -> str:
    """The value as its field labels it (a choice's label), else as given, a date without its "T"."""
    for choice, label in getattr(field, "choices", ()):
        if str(choice) == value:
            return str(label)
    return value.replace("T", " ", 1) if len(value) >= 16 and value[10:11] == "T" else value
