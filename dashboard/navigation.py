"""The dashboard's navigation bar: one entry per section.

A new section (chords, audit...) adds its entry here; the layout renders
whatever is listed, in order, and marks the current section.
"""
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Section:
    key: str
    label: str
    url_name: str


SECTIONS = [
    Section("overview", _("Overview"), "dashboard:overview"),
    Section("tasks", _("Tasks"), "dashboard:tasks"),
    Section("failures", _("Failures"), "dashboard:failures"),
    Section("task-names", _("Task names"), "dashboard:task-names"),
    Section("workers", _("Workers"), "dashboard:workers"),
    Section("periodic", _("Periodic"), "dashboard:periodic"),
    Section("groups", _("Groups"), "dashboard:groups"),
    Section("chords", _("Chords"), "dashboard:chords"),
    Section("audit", _("Audit"), "dashboard:audit"),
]
