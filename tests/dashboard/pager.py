"""Reading a list's pager, as the page shows it."""
import html
import re


def pager(response):
    """The HTML of the list's pager (``<nav class="pager">``) in ``response``, or "" when there is none."""
    match = re.search(r'<nav class="pager".*?</nav>', response.content.decode(), re.S)
    return match.group(0) if match else ""


def pager_link(response, rel):
    """The URL the pager's ``rel`` link ("next", "prev") leads to, or None when the page has none."""
    match = re.search(rf'<a href="([^"]*)"[^>]*\brel="{rel}"', pager(response))
    return html.unescape(match.group(1)) if match else None


def pager_error(response):
    """What the pager says was wrong with the page asked for, or ""."""
    match = re.search(r'<span class="error">(.*?)(?: <a |</span>)', pager(response), re.S)
    return html.unescape(match.group(1)) if match else ""
