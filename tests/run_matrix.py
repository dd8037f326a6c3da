"""Run the whole test suite once per reachable database and report each.

``make test`` calls this. SQLite always runs; PostgreSQL and MariaDB run
when a connection succeeds, and are reported as skipped, with the reason,
when not. Extra arguments are passed to pytest. Environment:

- ``TEST_DATABASES``: comma-separated subset of sqlite,postgresql,mariadb.
- ``TEST_POSTGRES_URL`` / ``TEST_MARIADB_URL``: where those servers are
  (Django creates and drops a ``test_<name>`` database on them).

Tests marked ``once`` do not depend on the database (the browser, the
cache backend): they run in the first pass only, which this script tells
the later passes through ``TEST_MATRIX_PASS``.
"""
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var"

CANDIDATES = {
    "sqlite": f"sqlite:///{VAR / 'test-run.sqlite3'}",
    "postgresql": os.environ.get("TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/dashboard"),
    "mariadb": os.environ.get("TEST_MARIADB_URL", "mysql://root@127.0.0.1:3306/dashboard"),
}


def unreachable_reason(name, url):
    """Why the server behind ``url`` cannot be used, or None when it can."""
    if name == "sqlite":
        return None
    import dj_database_url

    config = dj_database_url.parse(url)
    try:
        if name == "postgresql":
            import psycopg

            psycopg.connect(
                host=config["HOST"], port=config["PORT"] or 5432, user=config["USER"],
                password=config["PASSWORD"] or None, dbname="postgres", connect_timeout=3,
            ).close()
        else:
            import pymysql

            pymysql.connect(
                host=config["HOST"], port=int(config["PORT"] or 3306), user=config["USER"],
                password=config["PASSWORD"] or "", connect_timeout=3,
            ).close()
    except Exception as exc:  # any failure to connect means "not reachable"
        return f"not reachable at {config['HOST']}:{config['PORT']}: {exc}".strip()
    return None


def counts(junit_file):
    """(passed, failed, skipped) from a pytest JUnit XML report."""
    root = ET.parse(junit_file).getroot()
    suite = root if root.tag == "testsuite" else root.find("testsuite")
    total, failures, errors, skipped = (
        int(suite.get(key, 0)) for key in ("tests", "failures", "errors", "skipped")
    )
    return total - failures - errors - skipped, failures + errors, skipped


def main(pytest_args):
    wanted = os.environ.get("TEST_DATABASES", ",".join(CANDIDATES)).split(",")
    VAR.mkdir(exist_ok=True)
    report, failed_runs, first_pass = [], 0, None
    totals = [0, 0, 0]
    for name in (n.strip() for n in wanted if n.strip()):
        url = CANDIDATES[name]
        reason = unreachable_reason(name, url)
        if reason:
            report.append(f"{name:<11} SKIPPED  {reason}")
            continue
        print(f"\n===== test suite on {name} =====", flush=True)
        junit = VAR / f"junit-{name}.xml"
        junit.unlink(missing_ok=True)
        first_pass = first_pass or name
        env = {**os.environ, "DATABASE_URL": url, "TEST_MATRIX_PASS": name, "TEST_MATRIX_FIRST_PASS": first_pass}
        code = subprocess.call(
            [sys.executable, "-m", "pytest", f"--junitxml={junit}", *pytest_args], cwd=ROOT, env=env
        )
        if junit.exists():
            passed, failed, skipped = counts(junit)
            totals = [a + b for a, b in zip(totals, (passed, failed, skipped), strict=True)]
            summary = f"{passed} passed, {failed} failed, {skipped} skipped"
        else:
            summary = "no report"
        if code != 0:
            failed_runs += 1
        report.append(f"{name:<11} {'OK' if code == 0 else f'FAILED (exit {code})':<8} {summary}")
    print("\n===== results per database =====")
    print("\n".join(report))
    print(f"all databases: {totals[0]} passed, {totals[1]} failed, {totals[2]} skipped")
    return 1 if failed_runs else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
