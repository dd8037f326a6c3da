"""A demo of the dashboard: bulk-seeded history and real Celery tasks.

``python manage.py demo --tasks N`` seeds N realistic task results;
``python manage.py rundemo`` (what ``make run`` calls) starts a real worker,
beat and the web server, and keeps sending a lively mix of demo tasks.
The app is installed by the demo's settings (``dashboard_project.settings_demo``)
only, never by the production ones.
"""
