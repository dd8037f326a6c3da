"""``dashboard.fingerprints``: one bug, one fingerprint, whatever its data; two bugs, two."""
import pytest

from dashboard.fingerprints import Fingerprint, fingerprint, normalise, short_path, split_exception


def traceback(message, *, exception="KeyError", line=42, function="make_invoice",
              path="/srv/shop/releases/2026-12-01/billing/invoices.py"):
    return (
        "Traceback (most recent call last):\n"
        '  File "/venv/lib/python3.11/site-packages/celery/app/trace.py", line 453, in trace_task\n'
        "    R = retval = fun(*args, **kwargs)\n"
        f'  File "{path}", line {line}, in {function}\n'
        "    total = prices[sku]\n"
        '  File "/venv/lib/python3.11/site-packages/shoplib/prices.py", line 10, in lookup\n'
        "    return table[key]\n"
        f"{exception}: {message}\n"
    )


@pytest.mark.parametrize(
    ("message", "normalised"),
    [
        ("no invoice 4711 for 'ACME'", "no invoice <n> for <str>"),
        ('order "A-12" of user 3 failed after 2.5 s', "order <str> of user <n> failed after <n> s"),
        ("task 9b2d4c1e-7f3a-4e5b-9c8d-0a1b2c3d4e5f expired", "task <uuid> expired"),
        ("GET https://api.example.com/v1/items?id=7 answered 503", "GET <url> answered <n>"),
        ("no account for jane.doe+shop@example.co.uk", "no account for <email>"),
        ("stale since 2026-12-02T14:02:09.123+00:00 (now 14:05)", "stale since <timestamp> (now <time>)"),
        ("<Connection object at 0x7f3a2b1c>", "<Connection object at <address>>"),
        ("checksum deadbeef42 mismatch", "checksum <hex> mismatch"),
        ("123456789", "<n>"),
        ("  many\n\tspaces   here ", "many spaces here"),
        ("section2 of v3 in s3_bucket", "section2 of v3 in s3_bucket"),  # digits inside words stay
        ("<b>bold</b> & co", "<b>bold</b> & co"),  # text, escaped where it is shown
    ],
)
def test_variable_parts_of_a_message_become_placeholders(message, normalised):
    assert normalise(message) == normalised


def test_a_huge_message_is_read_only_in_part_and_cut():
    assert len(normalise("x" * 1_000_000)) == 300
    assert normalise("7 " * 500_000).startswith("<n> <n>")


def test_one_bug_with_other_data_and_an_edit_above_it_is_one_fingerprint():
    first = fingerprint(traceback("'SKU-1234'", line=42))
    again = fingerprint(traceback("'SKU-99'", line=57, path="/srv/shop/releases/2026-12-02/billing/invoices.py"))
    assert first == again == Fingerprint("KeyError", "<str>", "billing/invoices.py:make_invoice")
    assert first.digest == again.digest and len(first.digest) == 16


def test_the_same_type_raised_at_two_call_sites_is_two_fingerprints():
    invoice = fingerprint(traceback("'x'", function="make_invoice"))
    refund = fingerprint(traceback("'x'", function="make_refund"))
    elsewhere = fingerprint(traceback("'x'", path="/srv/shop/billing/refunds.py"))
    assert len({invoice.digest, refund.digest, elsewhere.digest}) == 3


def test_another_type_or_message_is_another_fingerprint():
    base = fingerprint(traceback("'x'"))
    assert fingerprint(traceback("'x'", exception="IndexError")).digest != base.digest
    assert fingerprint(traceback("missing price for 'x'")).digest != base.digest


def test_the_last_exception_of_a_chain_and_its_project_frame_count():
    text = traceback("'x'") + (
        "\nDuring handling of the above exception, another exception occurred:\n\n"
        "Traceback (most recent call last):\n"
        '  File "/srv/shop/billing/invoices.py", line 50, in make_invoice\n'
        "    raise InvoiceError(sku)\n"
        "billing.errors.InvoiceError: cannot price order 77\n"
    )
    assert fingerprint(text) == Fingerprint(
        "billing.errors.InvoiceError", "cannot price order <n>", "billing/invoices.py:make_invoice"
    )


def test_a_failure_without_a_traceback_groups_by_its_stored_type_and_message():
    assert fingerprint(None, "TimeLimitExceeded", "TimeLimitExceeded(300,)") == Fingerprint(
        "TimeLimitExceeded", "TimeLimitExceeded(<n>,)", ""
    )
    assert fingerprint("", "ValueError", "bad 1") == fingerprint("   ", "ValueError", "bad 2")


def test_only_library_frames_leave_where_empty():
    text = (
        "Traceback (most recent call last):\n"
        '  File "/usr/lib/python3.11/site-packages/kombu/connection.py", line 1, in connect\n'
        "    sock.connect()\n"
        "ConnectionRefusedError: [Errno 111] Connection refused\n"
    )
    assert fingerprint(text) == Fingerprint("ConnectionRefusedError", "[Errno <n>] Connection refused", "")


def test_text_that_is_not_a_traceback_is_its_own_message():
    assert fingerprint("worker lost: signal 9 (SIGKILL)") == Fingerprint("", "worker lost: signal <n> (SIGKILL)", "")
    assert fingerprint("SystemExit") == Fingerprint("SystemExit", "", "")


def test_odd_text_never_raises():
    for text in ("\x00\x01 binary \udcff", "Traceback (most recent call last):\n", "\n\n", "é" * 100_000):
        result = fingerprint(text)
        assert isinstance(result.digest, str)


@pytest.mark.parametrize(
    ("line", "parts"),
    [
        ("KeyError: 'sku'", ("KeyError", "'sku'")),
        ("billing.errors.InvoiceError: multi\nline", ("billing.errors.InvoiceError", "multi\nline")),
        ("StopIteration", ("StopIteration", "")),
        ("not an exception line!", ("", "not an exception line!")),
    ],
)
def test_an_exception_line_splits_into_type_and_message(line, parts):
    assert split_exception(line) == parts


def test_a_frame_path_keeps_its_last_two_parts():
    assert short_path("/srv/app/releases/41/billing/invoices.py") == "billing/invoices.py"
    assert short_path("C:\\app\\billing\\invoices.py") == "billing/invoices.py"
    assert short_path("tasks.py") == "tasks.py"
