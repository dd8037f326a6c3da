"""The dashboard's pages, mounted under ``/dashboard/`` by the project.

Task and group ids, and task names, may hold any character Celery allows
(a slash too), so they come last in their paths.
"""
from django.urls import path

from .views import actions, audit, chords, groups, insights, redrives, saved_views, tasks
from .views.metrics import metrics_view

app_name = "dashboard"

urlpatterns = [
    path("", insights.OverviewView.as_view(), name="overview"),
    path("task-names/", insights.TaskNameListView.as_view(), name="task-names"),
    path("task-names/<path:name>/", insights.TaskNameView.as_view(), name="task-name"),
    path("workers/", insights.WorkerListView.as_view(), name="workers"),
    path("periodic/", insights.PeriodicListView.as_view(), name="periodic"),
    path("failures/", insights.FailureListView.as_view(), name="failures"),
    path("failures/<str:digest>/", insights.FailureGroupView.as_view(), name="failure"),
    path("failures/<str:digest>/retry/", actions.RedriveView.as_view(), name="failure-retry"),
    path("failures/<str:digest>/<slug:action>/", actions.FailureGroupActionView.as_view(), name="failure-action"),
    path("tasks/", tasks.TaskListView.as_view(), name="tasks"),
    path("count/tasks/", tasks.TaskCountView.as_view(), name="task-count"),
    path("export/tasks/", tasks.TaskExportView.as_view(), name="task-export"),
    path("same-args/<path:task_id>/", tasks.SameArgumentsView.as_view(), name="task-same-args"),
    path("tasks/<path:task_id>/", tasks.TaskDetailView.as_view(), name="task"),
    path("groups/", groups.GroupListView.as_view(), name="groups"),
    path("groups/<path:group_id>/", groups.GroupDetailView.as_view(), name="group"),
    path("chords/", chords.ChordListView.as_view(), name="chords"),
    path("chords/sweep/", chords.ChordSweepView.as_view(), name="chord-sweep"),
    path("actions/delete-expired/", actions.DeleteExpiredView.as_view(), name="delete-expired"),
    path("actions/<slug:action>/", actions.TaskActionView.as_view(), name="action"),
    path("redrives/<int:pk>/", redrives.RedriveProgressView.as_view(), name="redrive"),
    path("redrives/<int:pk>/cancel/", actions.RedriveCancelView.as_view(), name="redrive-cancel"),
    path("metrics/", metrics_view, name="metrics"),
    path("audit/", audit.AuditListView.as_view(), name="audit"),
    path("audit/<int:pk>/", audit.AuditEntryView.as_view(), name="audit-entry"),
    path("saved-views/", saved_views.SaveViewView.as_view(), name="saved-view-save"),
    path("saved-views/<int:pk>/share/", saved_views.ShareSavedView.as_view(), name="saved-view-share"),
    path("saved-views/<int:pk>/delete/", saved_views.DeleteSavedView.as_view(), name="saved-view-delete"),
]
