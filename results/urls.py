"""URLs of the JSON status views.

``task/done/<id>/``, ``task/status/<id>/``, ``group/done/<id>/`` and
``group/status/<id>/``; with ``DJANGO_CELERY_RESULTS_ID_FIRST_URLS`` (the
default, read when the URLconf is loaded) also the legacy id-first forms
``<id>/done/``, ``<id>/status/``, ``<id>/group/done/`` and
``<id>/group/status/``. An id that does not match ``[\\w\\d\\-\\.]+``
answers a JSON 404.
"""
from django.urls import path, re_path, register_converter
from django.urls.converters import get_converters

from . import views
from .conf import id_first_urls


class TaskPatternConverter:
    """A task or group id: letters, digits, ``-``, ``_`` and ``.``."""

    regex = r"[\w\d\-\.]+"

    def to_python(self, value):
        return str(value)

    def to_url(self, value):
        return value


if "task_pattern" not in get_converters():  # the URLconf may be loaded again
    register_converter(TaskPatternConverter, "task_pattern")

# (noun-first route, legacy id-first route, view, URL name)
ROUTES = (
    (
        "task/done/<task_pattern:task_id>/",
        "<task_pattern:task_id>/done/",
        views.is_task_successful,
        "celery-is_task_successful",
    ),
    (
        "task/status/<task_pattern:task_id>/",
        "<task_pattern:task_id>/status/",
        views.task_status,
        "celery-task_status",
    ),
    (
        "group/done/<task_pattern:group_id>/",
        "<task_pattern:group_id>/group/done/",
        views.is_group_successful,
        "celery-is_group_successful",
    ),
    (
        "group/status/<task_pattern:group_id>/",
        "<task_pattern:group_id>/group/status/",
        views.group_status,
        "celery-group_status",
    ),
)

urlpatterns = []
if id_first_urls():
    # Listed first so that reverse() keeps answering the noun-first form.
    urlpatterns += [path(legacy, view, name=name) for _route, legacy, view, name in ROUTES]
urlpatterns += [path(route, view, name=name) for route, _legacy, view, name in ROUTES]
# Anything else under the noun-first prefixes is an id that is not one.
urlpatterns.append(re_path(r"^(?:task|group)/(?:done|status)/.+$", views.invalid_id))
