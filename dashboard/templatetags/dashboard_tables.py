"""``{% report_rows table %}``: the body rows of the insights pages' tables (``dashboard.report_tables``).

django-tables2's own template resolves a dozen template variables per
cell, works out every cell's ``<td>`` attributes again and inspects the
signature of the column's ``render`` for each: on a table of 20 task names
and 11 columns that was most of its render time. The report tables' cell
attributes depend on the column alone (no callable takes the record), and
their records are dicts keyed by column name, so this tag works the
attributes out once per column and asks each ``ReportColumn`` for its
cells directly: the same cells, in the rows django-tables2 sorted and
paginated (``table.paginated_rows``).
"""
from django import template
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import mark_safe

register = template.Library()


@register.simple_tag
def report_rows(table):
    columns = [
        (bound.name, bound.column.cell, bound.column.empty_values, bound.default, bound.attrs["td"].as_html())
        for bound in table.columns
    ]
    rows = []
    for row in table.paginated_rows:
        record = row.record
        cells = []
        for name, cell, empty_values, default, attrs in columns:
            value = record.get(name)
            content = default if value in empty_values else cell(value, record)
            cells.append(f"<td {attrs}>{conditional_escape(content)}</td>")
        rows.append(f"<tr {row.attrs.as_html()}>{''.join(cells)}</tr>")
    if not rows and table.empty_text:
        return format_html('<tr><td colspan="{}">{}</td></tr>', len(columns), table.empty_text)
    return mark_safe("\n".join(rows))
