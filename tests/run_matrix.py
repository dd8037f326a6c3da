"""Run the whole test suite once per reachable database and report each.

``make test`` calls this. SQLite always runs; PostgreSQL and MariaDB run
when a connection succeeds, and are reported as skipped, with the reason,
when not. Extra arguments are passed to pytest. Environment:

- ``TEST_DATABASES``: comma-separated subset of sqlite,postgresql,mariadb.
- ``TEST_PARALLEL=0``: run the passes one after another, their output live
  (by default they run side by side, each into ``var/test-<name>.log``,
  printed in order once all have ended).
- ``TEST_POSTGRES_URL`` / ``TEST_MARIADB_URL``: where those servers are
  (Django creates and drops a ``test_<name>`` database on them).

Tests marked ``once`` do not depend on the database (the browser, the
cache backend): they run in the first pass only, which this script tells
the later passes through ``TEST_MATRIX_PASS``.
"""
import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VAR = Path(os.environ.get("VAR_DIR", ROOT / "var"))  # as the settings read it: runs side by side stay apart

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


def start(name, url, first_pass, pytest_args, parallel):
    """Start the pass on ``name``: output to the terminal, or (in parallel) to ``var/test-<name>.log``."""
    junit = VAR / f"junit-{name}.xml"
    junit.unlink(missing_ok=True)
    env = {**os.environ, "DATABASE_URL": url, "TEST_MATRIX_PASS": name, "TEST_MATRIX_FIRST_PASS": first_pass}
    command = [sys.executable, "-m", "pytest", f"--junitxml={junit}", *pytest_args]
    if not parallel:
        print(f"\n===== test suite on {name} =====", flush=True)
        return subprocess.Popen(command, cwd=ROOT, env=env), None
    log = VAR / f"test-{name}.log"
    with open(log, "w") as out:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT), log


def run_all(names, first_pass, pytest_args, parallel):
    """Run the passes (side by side, or one after another); ``[(name, exit code, seconds, log or None)]``."""
    if not parallel:
        finished = []
        for name in names:
            began = time.monotonic()
            process, _ = start(name, CANDIDATES[name], first_pass, pytest_args, parallel=False)
            finished.append((name, process.wait(), time.monotonic() - began, None))
        return finished
    began = time.monotonic()
    running = {name: start(name, CANDIDATES[name], first_pass, pytest_args, parallel=True) for name in names}
    ended = {}
    while len(ended) < len(running):
        for name, (process, _log) in running.items():
            if name not in ended and process.poll() is not None:
                ended[name] = time.monotonic() - began
        time.sleep(0.5)
    return [(name, process.returncode, ended[name], log) for name, (process, log) in running.items()]


def main(pytest_args):
    wanted = [n.strip() for n in os.environ.get("TEST_DATABASES", ",".join(CANDIDATES)).split(",") if n.strip()]
    VAR.mkdir(exist_ok=True)
    report, reachable = {}, []
    for name in wanted:
        reason = unreachable_reason(name, CANDIDATES[name])
        if reason:
            report[name] = f"{name:<11} SKIPPED  {reason}"
        else:
            reachable.append(name)
    # The passes share nothing (each its own database, worker queues named
    # after its session, its own temporary folders), and they spend most of
    # their time waiting on workers and servers: run them side by side.
    parallel = len(reachable) > 1 and os.environ.get("TEST_PARALLEL", "1") != "0"
    first_pass = reachable[0] if reachable else ""
    finished = run_all(reachable, first_pass, pytest_args, parallel)
    totals, failed_runs = [0, 0, 0], 0
    for name, code, elapsed, log in finished:
        if log is not None:
            print(f"\n===== test suite on {name} =====", flush=True)
            print(log.read_text(), end="", flush=True)
        junit = VAR / f"junit-{name}.xml"
        if junit.exists():
            passed, failed, skipped = counts(junit)
            totals = [a + b for a, b in zip(totals, (passed, failed, skipped), strict=True)]
            summary = f"{passed} passed, {failed} failed, {skipped} skipped in {elapsed:.0f} s"
        else:
            summary = "no report"
        if code != 0:
            failed_runs += 1
        report[name] = f"{name:<11} {'OK' if code == 0 else f'FAILED (exit {code})':<8} {summary}"
    print("\n===== results per database =====")
    print("\n".join(report[name] for name in wanted if name in report))
    print(f"all databases: {totals[0]} passed, {totals[1]} failed, {totals[2]} skipped")
    return 1 if failed_runs else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
