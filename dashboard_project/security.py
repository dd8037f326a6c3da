"""A Content-Security-Policy on every response: scripts only from this site's own files, never inline or eval'd.

Django 5.2 has no CSP of its own. The pages hold no inline script nor
event handler, and htmx is told not to evaluate code (``allowEval``) nor
inject its indicator ``<style>`` (``includeIndicatorStyles``, in the
layout's ``htmx-config``; the stylesheet has those rules). Inline ``style``
*attributes* stay allowed (``style-src-attr``): the bars' widths are data.
``CONTENT_SECURITY_POLICY`` in the settings replaces the policy; empty,
no header is sent.
"""
from django.conf import settings

DEFAULT_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "style-src-attr 'unsafe-inline'",
    "img-src 'self' data:",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        policy = getattr(settings, "CONTENT_SECURITY_POLICY", DEFAULT_POLICY)
        if policy and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = policy
        return response
