"""``/healthz``: is this process able to serve? For load balancers and orchestrators: JSON, no log-in, no data.

Each check says ``"ok"`` or why not, in a word: the database (a ``SELECT 1``
on every configured alias) and, when a broker is configured, the broker
(one connection attempt, bounded by ``HEALTH_BROKER_TIMEOUT`` seconds). All
well: 200; anything not: 503. Never cached, and it reads no session (a
probe every few seconds must not write one).
"""
from celery import current_app
from django.db import DatabaseError, connections
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

#: Seconds a broker gets to accept a connection before it counts as unreachable.
HEALTH_BROKER_TIMEOUT = 2.0


def database_state(alias):
    try:
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as error:
        return f"unreachable ({type(error).__name__})"
    return "ok"


def broker_state(app):
    """``"ok"``, why not, or None when no broker is configured (nothing to check)."""
    if not app.conf.broker_url:
        return None
    try:
        with app.connection_for_write(connect_timeout=HEALTH_BROKER_TIMEOUT) as connection:
            connection.ensure_connection(max_retries=0, timeout=HEALTH_BROKER_TIMEOUT)
    except Exception as error:  # any transport's failure to connect is an answer here, never a 500
        return f"unreachable ({type(error).__name__})"
    return "ok"


@never_cache
@require_safe
def healthz(request):
    checks = {f"database {alias}" if alias != "default" else "database": database_state(alias)
              for alias in connections}
    broker = broker_state(current_app._get_current_object())
    if broker is not None:
        checks["broker"] = broker
    healthy = all(state == "ok" for state in checks.values())
    return JsonResponse({"status": "ok" if healthy else "unavailable", **checks}, status=200 if healthy else 503)
