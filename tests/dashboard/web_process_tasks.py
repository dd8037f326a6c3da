"""A task module only a worker would import: ``test_actions`` checks that the registry check imports it too."""
from celery import shared_task


@shared_task(name="tests.dashboard.web_process_tasks.imported_on_demand")
def imported_on_demand():
    return "ran"
