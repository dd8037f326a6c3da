"""Times shown in each browser's own time zone, when its user asks for it.

The server's ``TIME_ZONE`` is the default. The header's time zone switch
(dashboard.js) offers the browser's zone, which only the browser knows
(``Intl``), and remembers the choice in the ``dashboard_time_zone`` cookie;
``TimeZoneMiddleware`` then activates that zone for the request, so every
date the pages write, and every date a filter form reads, is in it. A
cookie naming no zone this server knows is ignored.

A project mounting the dashboard adds the middleware to ``MIDDLEWARE``
(anywhere: it needs nothing else); without it the switch is not shown.
"""
import zoneinfo
from functools import lru_cache

from django.conf import settings
from django.utils import timezone

COOKIE = "dashboard_time_zone"


@lru_cache(maxsize=256)
def _zone(name: str):
    if not name or len(name) > 64:
        return None
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):  # unknown, or not a zone key at all ("../x", "a\0b")
        return None


def chosen_zone(request):
    """The zone this browser chose (its cookie), or None for the server's ``TIME_ZONE``."""
    return _zone(request.COOKIES.get(COOKIE, ""))


class TimeZoneMiddleware:
    """Activates the browser's chosen time zone for the request (``chosen_zone``), else the server's."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        zone = chosen_zone(request)
        if zone is None:
            return self.get_response(request)
        with timezone.override(zone):
            response = self.get_response(request)
            if hasattr(response, "render") and not response.is_rendered:
                response.render()  # a TemplateResponse renders after the view: still in this zone
            return response


def server_zone_name() -> str:
    return settings.TIME_ZONE


def switch_enabled() -> bool:
    """Whether a choice of zone would take effect: only where the project runs the middleware."""
    return f"{__name__}.{TimeZoneMiddleware.__name__}" in settings.MIDDLEWARE
