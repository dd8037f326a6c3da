"""The form that saves a list's current filters and sort as a named view (``dashboard.saved_views``).

The list and its query string travel in hidden fields (the list's page
writes them, and htmx keeps the query current as the filters change); the
user types the name, and, holding the permission, ticks "share with the
team". Everything the user cannot see (a malformed filter, a query string
too long, an unknown list) is refused in the form's own errors, never by
the database.
"""
from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import saved_views
from .forms import DashboardForm
from .models import SavedView

NAME_LENGTH = SavedView._meta.get_field("name").max_length


class SaveViewForm(DashboardForm):
    name = forms.CharField(
        label=gettext_lazy("Name"),
        max_length=NAME_LENGTH,
        error_messages={
            "required": gettext_lazy("Give the view a name."),
            "max_length": gettext_lazy(
                "A view's name has at most %(limit_value)d characters (this one has %(show_value)d)."),
        },
        widget=forms.TextInput(attrs={"placeholder": gettext_lazy("payments failing on web-3")}),
    )
    shared = forms.BooleanField(label=gettext_lazy("Share with the team"), required=False)
    replace = forms.BooleanField(label=gettext_lazy("Replace my view of this name"), required=False)
    list_name = forms.ChoiceField(choices=SavedView.List.choices, widget=forms.HiddenInput)
    query = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        if not saved_views.can_share(user):
            del self.fields["shared"]  # neither shown nor read
        # "Replace" is shown once a name turned out to be taken (or when it was ticked already).
        self.offer_replace = self.is_bound and self.data.get("replace") in ("on", "true", "1")

    def clean(self):
        cleaned = super().clean()
        list_name = cleaned.get("list_name")
        if list_name is not None:
            try:
                cleaned["query"] = saved_views.normalised_query(list_name, cleaned.get("query") or "")
            except ValidationError as error:
                self.add_error(None, ValidationError([_("These filters cannot be saved.")] + error.messages))
        return cleaned

    @property
    def list_label(self) -> str:
        entry = saved_views.LISTS.get(self.data.get("list_name") if self.is_bound else self.initial.get("list_name"))
        return entry.label.lower() if entry else ""

    def save(self) -> SavedView | None:
        """The saved view, or None with the reason in the form's errors (a name already taken)."""
        data = self.cleaned_data
        try:
            return saved_views.save(self.user, data["list_name"], data["name"], data["query"],
                                    shared=data.get("shared", False), replace=data["replace"])
        except saved_views.DuplicateName as taken:
            self.add_error("name", _(
                "You already have a view named “%(name)s” on this list: choose another name, "
                "or tick “Replace my view of this name” to save these filters under it.") % {"name": taken.args[0]})
            self.offer_replace = True
            return None
