"""Who may see results: one rule for the dashboard pages and the JSON views."""

VIEW_PERMISSION = "results.view_taskresult"


def can_view_results(user):
    """An active, logged-in user holding ``results.view_taskresult`` (superusers hold every permission)."""
    return user.is_authenticated and user.is_active and user.has_perm(VIEW_PERMISSION)
