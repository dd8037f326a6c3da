"""``{% report_rows table %}``: the body rows of the insights pages' tables (``dashboard.report_tables``).

django-tables2's own template resolves a dozen template variables per
cell, and works out every cell's ``<td>`` attributes again: on a table of
20 task names and 11 columns that was two thirds of its render time. The
report tables' cell attributes depend on the column alone (no callable
takes the record), so this tag works them out once per column and writes
the cells in Python. Each cell's content is still the library's
``BoundRow.get_cell`` (accessor, empty values, the column's or table's
``render_*``), localized and escaped as the template's ``{{ cell }}`` is.
"""
from django import template
from django.utils.formats import localize
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import mark_safe

register = template.Library()


@register.simple_tag
def report_rows(table):
    columns = [(column.name, column.attrs["td"].as_html()) for column in table.columns]
    rows = []
    for row in table.paginated_rows:
        cells = "".join(
            f"<td {attrs}>{conditional_escape(localize(row.get_cell(name)))}</td>" for name, attrs in columns
        )
        rows.append(f"<tr {row.attrs.as_html()}>{cells}</tr>")
    if not rows and table.empty_text:
        return format_html('<tr><td colspan="{}">{}</td></tr>', len(columns), table.empty_text)
    return mark_safe("\n".join(rows))
