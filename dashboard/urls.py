"""The dashboard's pages, mounted under ``/dashboard/`` by the project.

Task and group ids may hold any character Celery allows (a slash too), so
they come last in their paths.
"""
from django.urls import path

from .views import actions, audit, chords, groups, overview, tasks

app_name = "dashboard"

urlpatterns = [
    path("", overview.OverviewView.as_view(), name="overview"),
    path("overview/counts/", overview.StatusCountsView.as_view(), name="overview-counts"),
    path("tasks/", tasks.TaskListView.as_view(), name="tasks"),
    path("count/tasks/", tasks.TaskCountView.as_view(), name="task-count"),
    path("same-args/<path:task_id>/", tasks.SameArgumentsView.as_view(), name="task-same-args"),
    path("tasks/<path:task_id>/", tasks.TaskDetailView.as_view(), name="task"),
    path("groups/", groups.GroupListView.as_view(), name="groups"),
    path("groups/<path:group_id>/", groups.GroupDetailView.as_view(), name="group"),
    path("chords/", chords.ChordListView.as_view(), name="chords"),
    path("actions/delete-expired/", actions.DeleteExpiredView.as_view(), name="delete-expired"),
    path("actions/<slug:action>/", actions.TaskActionView.as_view(), name="action"),
    path("audit/", audit.AuditListView.as_view(), name="audit"),
    path("audit/<int:pk>/", audit.AuditEntryView.as_view(), name="audit-entry"),
]
