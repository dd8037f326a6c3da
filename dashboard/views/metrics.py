"""``/metrics``: the statistics in Prometheus' text format (``dashboard.metrics``), for a scraper holding the token.

Off unless ``DASHBOARD["METRICS_TOKEN"]`` is set (404 then, as if there
were no such page). A scraper sends ``Authorization: Bearer <token>``; no
header or another token is a 401 naming the scheme. No session, no log-in:
a scraper is not a user.
"""
import hmac

from django.http import Http404, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from .. import metrics
from ..conf import dashboard_setting


def bearer_token(request) -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


@never_cache
@require_safe
def metrics_view(request):
    expected = dashboard_setting("METRICS_TOKEN")
    if not expected:
        raise Http404("Metrics are off: set DASHBOARD['METRICS_TOKEN'] to serve them.")
    if not hmac.compare_digest(bearer_token(request).encode(), str(expected).encode()):
        response = HttpResponse("A bearer token is needed.\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(metrics.render(), content_type=metrics.CONTENT_TYPE)
