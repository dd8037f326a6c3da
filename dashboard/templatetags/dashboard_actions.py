"""Template tags of the operator actions: which actions a user may run."""
from django import template

from .. import actions

register = template.Library()


@register.simple_tag(takes_context=True)
def allowed_actions(context):
    """The actions the request's user may run now: empty while ``ALLOW_EDITS`` is off (no button is rendered)."""
    request = context.get("request")
    if request is None:
        return frozenset()
    return actions.allowed_actions(request.user)

