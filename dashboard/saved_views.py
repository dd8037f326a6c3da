"""Saved views: a list's filters and sort kept under a name, private or shared with the team.

Everything the views and templates ask of saved views is here: which lists
take them (``LISTS``), what part of a query string a view keeps
(``normalised_query``: every filter and the sort, never the paging or the
live refresh, and only once the list's own form accepted it), which views
a user sees (``visible_to``), and who may save, share and delete them.
The model is ``dashboard.models.SavedView``.
"""
from collections.abc import Callable
from dataclasses import dataclass

from django import forms
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.http import QueryDict
from django.urls import reverse
from django.utils.translation import gettext as _

from results.models import GroupResult, TaskResult

from .filters import GroupFilter, TaskFilter
from .forms import FailureOptionsForm
from .models import SavedView
from .querystrings import canonical_query, field_parameters
from .report_tables import FailureGroupTable
from .tables import GroupTable, TaskTable

SHARE_PERMISSION = "dashboard.share_savedview"
DELETE_PERMISSION = "dashboard.delete_savedview"

#: Longest query string a view keeps: every filter of a list filled in fits many times over.
MAX_QUERY_LENGTH = 2000

#: Query parameters that are where the user is in a list, or how it refreshes, not what it shows.
NOT_SAVED = ("cursor", "page", "refresh")


@dataclass(frozen=True)
class SavedList:
    """A list that takes saved views: its URL, the form that validates its filters, the table that sorts it."""

    key: str  # a ``SavedView.List`` value
    url_name: str
    form: Callable[[QueryDict], forms.Form]
    table_class: type

    @property
    def label(self) -> str:
        return SavedView.List(self.key).label

    def url(self, query: str = "") -> str:
        base = reverse(self.url_name)
        return f"{base}?{query}" if query else base


LISTS = {
    entry.key: entry
    for entry in (
        SavedList(SavedView.List.TASKS, "dashboard:tasks",
                  lambda data: TaskFilter(data, queryset=TaskResult.objects.none()).form, TaskTable),
        SavedList(SavedView.List.GROUPS, "dashboard:groups",
                  lambda data: GroupFilter(data, queryset=GroupResult.objects.none()).form, GroupTable),
        SavedList(SavedView.List.FAILURES, "dashboard:failures", FailureOptionsForm, FailureGroupTable),
    )
}


def current_query(list_key: str, querydict: QueryDict) -> str:
    """What a view of the list shown with ``querydict`` would keep, before validation (the save form carries it)."""
    return canonical_query(querydict, drop=NOT_SAVED)


def _parameter_names(form: forms.Form) -> set[str]:
    """The query parameters ``form`` reads: a field's name, or its widget's names (``date_done_after``...)."""
    return {parameter for name, field in form.fields.items() for parameter, _part in field_parameters(name, field)}


def _check_sort(saved_list: SavedList, sort: list[str]) -> None:
    """Refuse a sort on a column the list cannot sort by (the list itself would silently ignore it)."""
    if len(sort) > 1:
        raise ValidationError(_("A view keeps one sort: this query string has %(n)s.") % {"n": len(sort)})
    columns = saved_list.table_class([]).columns  # bound: a column's orderable as its table's Meta says
    for alias in sort[0].split(",") if sort else ():
        name = alias.strip().removeprefix("-")
        if name not in columns or not columns[name].orderable:
            raise ValidationError(_("The %(list)s list cannot be sorted by “%(sort)s”.") % {
                "list": saved_list.label.lower(), "sort": alias[:40]})


def normalised_query(list_key: str, query: str) -> str:
    """``query`` as a view of the list keeps it: filters and sort only, blanks dropped; refused if not valid.

    Paging and the live refresh are dropped (``NOT_SAVED``), and so is any
    parameter the list does not read. The filters go through the list's own
    form, so a view never holds a filter the list would refuse; its errors
    are raised, field by field, as a ``ValidationError``.
    """
    saved_list = LISTS.get(list_key)
    if saved_list is None:
        raise ValidationError(_("There is no list “%(list)s” to save a view of.") % {"list": str(list_key)[:40]})
    if len(query) > MAX_QUERY_LENGTH:
        raise ValidationError(_("These filters are too long to save (%(n)s characters, at most %(max)s).") % {
            "n": len(query), "max": MAX_QUERY_LENGTH})
    data = QueryDict(query)
    form = saved_list.form(data)
    kept = QueryDict(mutable=True)
    for name in sorted(_parameter_names(form) - set(NOT_SAVED)):
        if name in data:
            kept.setlist(name, data.getlist(name))
    sort = [value for value in data.getlist("sort") if value.strip()]
    _check_sort(saved_list, sort)
    if not form.is_valid():
        raise ValidationError([
            f"{form.fields[name].label if name in form.fields else _('Filters')}: {error}"
            for name, errors in form.errors.items() for error in errors
        ])
    if sort:
        kept.setlist("sort", sort)
    return canonical_query(kept)


# --- who sees and does what ---------------------------------------------------


def visible_to(user, list_key: str | None = None) -> QuerySet:
    """The views ``user`` sees: their own and the team's shared ones (of one list, or of all), owners joined."""
    views = SavedView.objects.filter(Q(owner_id=user.pk) | Q(shared=True)).select_related("owner")
    if list_key is not None:
        views = views.filter(list_name=list_key)
    return views.order_by("name", "id")


def can_share(user) -> bool:
    return user.has_perm(SHARE_PERMISSION)


def can_delete(user, view: SavedView) -> bool:
    """The owner, or for a shared view a staff member holding ``dashboard.delete_savedview`` (to clean up)."""
    if view.owner_id == user.pk:
        return True
    return view.shared and user.is_staff and user.has_perm(DELETE_PERMISSION)


@dataclass(frozen=True)
class Shown:
    """A view as a menu lists it: where it opens, whose it is, whether this user may delete it."""

    view: SavedView
    url: str
    mine: bool
    deletable: bool

    @property
    def list_label(self) -> str:
        return LISTS[self.view.list_name].label


def shown_to(user, list_key: str | None = None) -> list[Shown]:
    """``visible_to(user, list_key)`` with their links and rights, in one query."""
    return [
        Shown(view, LISTS[view.list_name].url(view.query), view.owner_id == user.pk, can_delete(user, view))
        for view in visible_to(user, list_key) if view.list_name in LISTS
    ]


class DuplicateName(Exception):
    """The owner already has a view of that name on that list (and did not ask to replace it)."""


def save(user, list_key: str, name: str, query: str, shared: bool = False, replace: bool = False) -> SavedView:
    """Save ``query`` (already ``normalised_query``) as ``user``'s view ``name``: a new one, or theirs of that name.

    Names are compared without regard to case. An existing view of that
    name is updated only when ``replace`` is asked, else ``DuplicateName``.
    ``shared`` is kept only when the user may share: without the permission
    the view is saved private (an update too).
    """
    shared = bool(shared) and can_share(user)
    with transaction.atomic():
        existing = (SavedView.objects.select_for_update()
                    .filter(owner_id=user.pk, list_name=list_key, name__iexact=name).first())
        if existing is not None:
            if not replace:
                raise DuplicateName(existing.name)
            existing.name, existing.query, existing.shared = name, query, shared
            existing.save(update_fields=["name", "query", "shared", "updated"])
            return existing
        try:
            with transaction.atomic():
                return SavedView.objects.create(owner=user, list_name=list_key, name=name, query=query, shared=shared)
        except IntegrityError:  # saved by a second request at the same moment
            raise DuplicateName(name) from None


def set_shared(user, view: SavedView, shared: bool) -> None:
    """Share ``view`` with the team, or take it back: its owner, holding the share permission."""
    if view.owner_id != user.pk or not can_share(user):
        raise PermissionError(_("Only its owner, with the permission to share views, can share or unshare a view."))
    view.shared = shared
    view.save(update_fields=["shared", "updated"])


def delete(user, view: SavedView) -> None:
    if not can_delete(user, view):
        raise PermissionError(_("Only its owner can delete this view."))
    view.delete()
