"""Exceptions and tracebacks as a failed or retried Celery task leaves them.

A traceback is a template with ``{0}`` where the task's first argument
goes, built once per (task kind, failure) and filled per row; literal
braces in it are escaped for ``str.format``.
"""
from functools import cache

SITE_PACKAGES = "/srv/shop/.venv/lib/python3.11/site-packages"
TRACE_FRAMES = (
    (f"{SITE_PACKAGES}/celery/app/trace.py", 453, "trace_task", "R = retval = fun(*args, **kwargs)"),
    (f"{SITE_PACKAGES}/celery/app/trace.py", 736, "__protected_call__", "return self.run(*args, **kwargs)"),
)
AUTORETRY_FRAME = (f"{SITE_PACKAGES}/celery/app/autoretry.py", 38, "run", "return task._orig_run(*args, **kwargs)")
RETRY_FRAMES = (
    (f"{SITE_PACKAGES}/celery/app/autoretry.py", 60, "run", "ret = task.retry(exc=exc, **retry_kwargs)"),
    (f"{SITE_PACKAGES}/celery/app/task.py", 743, "retry", "raise ret"),
)


def exception_payload(module, qualname, args):
    """An exception as Celery's JSON result serializer stores it."""
    return {"exc_type": qualname, "exc_message": args, "exc_module": module}


def _frames(frames):
    return "".join(
        f'  File "{path}", line {line}, in {function}\n    {source}\n' for path, line, function, source in frames
    )


def _braces(text):
    """Escape text so that ``str.format`` leaves it as it is."""
    return text.replace("{", "{{").replace("}", "}}")


@cache
def failure_traceback(kind, failure):
    """The traceback template of ``failure`` raised in ``kind`` (``{0}``: the first argument)."""
    task_frame = (kind.module_path, kind.source[0], kind.function, kind.source[1])
    frames = _braces(_frames(TRACE_FRAMES + (task_frame,) + failure.frames))
    return f"Traceback (most recent call last):\n{frames}{_braces(failure.label)}: {failure.message}\n"


@cache
def retry_traceback(kind, failure, countdown):
    """The traceback template of an automatic retry after ``failure``, as Celery chains them."""
    task_frame = (kind.module_path, kind.source[0], kind.function, kind.source[1])
    first = _braces(_frames((AUTORETRY_FRAME, task_frame) + failure.frames))
    then = _braces(_frames(TRACE_FRAMES + RETRY_FRAMES))
    exc_args = ", ".join(repr(arg) for arg in failure.exc_args("{0}"))
    return (
        f"Traceback (most recent call last):\n{first}{_braces(failure.label)}: {failure.message}\n"
        "\nDuring handling of the above exception, another exception occurred:\n\n"
        f"Traceback (most recent call last):\n{then}"
        f"celery.exceptions.Retry: Retry in {countdown}s: {failure.qualname}({_braces(exc_args)})\n"
    )
