"""Faults for the end-to-end tests: the database server stopped and started again.

The servers are this machine's own (PostgreSQL's cluster through
``pg_ctlcluster``, MariaDB's ``mariadbd``); whatever happens in the test,
the server is started again and answers before the helper returns.
"""
import shutil
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

START_TIMEOUT = 60


def postgresql_cluster():
    """``(version, name)`` of the local PostgreSQL cluster, or None."""
    versions = sorted(Path("/etc/postgresql").glob("*/main")) if Path("/etc/postgresql").is_dir() else []
    if not versions or not shutil.which("pg_ctlcluster"):
        return None
    return versions[-1].parent.name, "main"


def cannot_restart(vendor):
    """Why this test cannot stop and start the ``vendor`` server here, or None."""
    if vendor == "postgresql":
        return None if postgresql_cluster() else "no local PostgreSQL cluster (pg_ctlcluster) to restart"
    if vendor == "mysql":
        if not (shutil.which("mariadb-admin") and Path("/usr/sbin/mariadbd").exists()):
            return "no local MariaDB server (mariadb-admin, /usr/sbin/mariadbd) to restart"
        return None
    return f"no server to restart for {vendor}"


def _run(command):
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=START_TIMEOUT)


def stop_server(vendor):
    if vendor == "postgresql":
        version, name = postgresql_cluster()
        _run(["pg_ctlcluster", "--skip-systemctl-redirect", version, name, "stop", "-m", "fast"])
    else:
        _run(["mariadb-admin", "--user=root", "shutdown"])


def start_server(vendor, probe):
    """Start the server and wait until ``probe()`` (a connection attempt) succeeds."""
    if vendor == "postgresql":
        version, name = postgresql_cluster()
        _run(["pg_ctlcluster", "--skip-systemctl-redirect", version, name, "start"])
    else:
        _run(["start-stop-daemon", "--start", "--oknodo", "--background", "--exec", "/usr/sbin/mariadbd"])
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            probe()
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@contextmanager
def server_down(vendor, probe):
    """The database server is down inside the block, and up again (answering ``probe``) after it."""
    stop_server(vendor)
    try:
        yield
    finally:
        start_server(vendor, probe)
