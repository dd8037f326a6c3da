"""``{% chart obj %}``: renders a chart of ``dashboard.charts`` with its own template."""
import itertools

from django import template
from django.template.loader import render_to_string

register = template.Library()

# Each rendered chart gets its own element id (its SVG <title> is what aria-labelledby names),
# so two charts on one page never share one.
_chart_ids = itertools.count(1)


@register.simple_tag
def chart(obj, dom_id=None):
    """Render ``obj`` (a ``BarChart``, ``LineChart`` or ``Sparkline``) with ``obj.template_name``.

    ``{% chart overview_chart %}``, or ``{% chart overview_chart dom_id="finished" %}`` for a
    stable id (a link to ``#finished``, a browser test's selector).
    """
    return render_to_string(obj.template_name, {"chart": obj, "chart_id": dom_id or f"chart-{next(_chart_ids)}"})
