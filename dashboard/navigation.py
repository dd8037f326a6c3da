"""The dashboard's navigation bar: one entry per section.

A new section (chords, audit...) adds its entry here; the layout renders
whatever is listed, in order, and marks the current section. A section
with a ``shortcut`` is reached from the keyboard by ``g`` then that key
(dashboard.js reads it from the link; the shortcuts dialog lists it).
"""
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Section:
    key: str
    label: str
    url_name: str
    shortcut: str = ""


SECTIONS = [
    Section("overview", _("Overview"), "dashboard:overview", shortcut="o"),
    Section("tasks", _("Tasks"), "dashboard:tasks", shortcut="t"),
    Section("failures", _("Failures"), "dashboard:failures", shortcut="f"),
    Section("task-names", _("Task names"), "dashboard:task-names"),
    Section("workers", _("Workers"), "dashboard:workers"),
    Section("periodic", _("Periodic"), "dashboard:periodic"),
    Section("groups", _("Groups"), "dashboard:groups"),
    Section("chords", _("Chords"), "dashboard:chords", shortcut="c"),
    Section("audit", _("Audit"), "dashboard:audit"),
]
