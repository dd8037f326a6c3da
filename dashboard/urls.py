"""The dashboard's pages, mounted under ``/dashboard/`` by the project."""
from django.urls import path

from .views import overview, tasks

app_name = "dashboard"

urlpatterns = [
    path("", overview.OverviewView.as_view(), name="overview"),
    path("overview/counts/", overview.StatusCountsView.as_view(), name="overview-counts"),
    path("tasks/", tasks.TaskListView.as_view(), name="tasks"),
    path("count/tasks/", tasks.TaskCountView.as_view(), name="task-count"),
    path("tasks/<path:task_id>/", tasks.TaskDetailView.as_view(), name="task"),
]
