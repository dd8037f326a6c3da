"""Poll the dashboard's pages while workers write, as an operator's open tabs would; report what went wrong.

``python -m tests.e2e.dashboard_poller <stop file> <report file>`` runs in
a process of its own (``DATABASE_URL`` names the database the workers write
to), logged in as a superuser through Django's test client, requesting the
overview (whose bounded statistics catch-up writes), the task list, its
failures, the failures page, groups, chords, workers and a task's page in
turn, until the stop file exists. Then it writes a JSON report: requests,
pages that answered 5xx or showed "database is locked", and the slowest
answer. The soak reads it.
"""
import json
import os
import sys
import time
from pathlib import Path

PAGES = [
    ("dashboard:overview", {}),
    ("dashboard:tasks", {}),
    ("dashboard:tasks", {"status": "FAILURE"}),
    ("dashboard:failures", {}),
    ("dashboard:groups", {}),
    ("dashboard:chords", {}),
    ("dashboard:workers", {}),
]
LOCKED_TEXT = b"database is locked"


def poll(stop_file, pause=0.2):
    from django.contrib.auth.models import User
    from django.db import close_old_connections
    from django.test import Client
    from django.urls import reverse

    from results.models import TaskResult

    user, _ = User.objects.get_or_create(username="soak-operator", defaults={"is_staff": True, "is_superuser": True})
    client = Client(raise_request_exception=False, HTTP_HOST="localhost")
    client.force_login(user)
    report = {"requests": 0, "errors": [], "locked": 0, "slowest": 0.0, "by_page": {}}
    while not os.path.exists(stop_file):
        latest = TaskResult.objects.order_by("-pk").values_list("task_id", flat=True).first()
        pages = [(name, reverse(name), query) for name, query in PAGES]
        if latest:
            pages.append(("dashboard:task", reverse("dashboard:task", args=[latest]), {}))
        for name, url, query in pages:
            started = time.monotonic()
            response = client.get(url, query)
            took = time.monotonic() - started
            body = response.content
            report["requests"] += 1
            report["slowest"] = max(report["slowest"], took)
            report["by_page"][name] = report["by_page"].get(name, 0) + 1
            if LOCKED_TEXT in body.lower():
                report["locked"] += 1
            if response.status_code >= 500 or LOCKED_TEXT in body.lower():
                report["errors"].append({"url": url, "status": response.status_code,
                                         "text": body[:300].decode(errors="replace")})
            close_old_connections()
            time.sleep(pause)
    return report


def main():
    stop_file, report_file = sys.argv[1], Path(sys.argv[2])
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard_project.settings")
    import django

    django.setup()
    report = poll(stop_file)
    report_file.write_text(json.dumps(report))


if __name__ == "__main__":
    main()
