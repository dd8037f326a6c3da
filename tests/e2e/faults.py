"""Faults for the end-to-end tests and the soak: a database server restarted, a broker connection cut.

The servers are this machine's own (PostgreSQL's cluster through
``pg_ctlcluster``, MariaDB's ``mariadbd``); whatever happens in the test,
the server is started again and answers before the helper returns.

``BrokerProxy`` sits between one worker instance and the broker, so that
its broker connections can be cut (and refused while cut) without touching
any other client of the broker.
"""
import selectors
import shutil
import socket
import struct
import subprocess
import threading
import time
from contextlib import contextmanager, suppress
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
    wait_until_answers(probe)


def wait_until_answers(probe):
    """Wait until ``probe()`` (a connection attempt) succeeds; its error after ``START_TIMEOUT``."""
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


def restart_server(vendor, probe):
    """Restart the server in one command (fast shutdown), and wait until ``probe()`` succeeds; True once it does.

    Whatever happens, the server is running when this returns.
    """
    if vendor != "postgresql":
        with server_down(vendor, probe):
            pass
        return True
    version, name = postgresql_cluster()
    try:
        _run(["pg_ctlcluster", "--skip-systemctl-redirect", version, name, "restart", "-m", "fast"])
    finally:
        status = subprocess.run(["pg_ctlcluster", version, name, "status"], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, timeout=START_TIMEOUT)
        if status.returncode != 0:  # the restart stopped it and failed to start it: start it
            _run(["pg_ctlcluster", "--skip-systemctl-redirect", version, name, "start"])
        wait_until_answers(probe)
    return True


class BrokerProxy:
    """A TCP proxy on loopback in front of the broker; ``cut()`` severs every connection through it until ``restore()``.

    Its clients (one worker instance, its broker URL pointed at
    ``address``) see what a network failure shows them: every connection
    reset at once, and new ones closed as soon as they are accepted while
    the cut lasts. Data is pumped by one thread with a selector.
    """

    def __init__(self, upstream_host, upstream_port):
        self.upstream = (upstream_host, upstream_port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.setblocking(False)
        self.address = self.listener.getsockname()
        self.severed = threading.Event()
        self.swallowing = threading.Event()
        self.cuts = 0
        self._selector = selectors.DefaultSelector()
        self._selector.register(self.listener, selectors.EVENT_READ, None)
        self._peers = {}  # socket -> the socket at the other end
        self._lock = threading.Lock()
        self._closing = False
        self._thread = threading.Thread(target=self._pump, name="broker-proxy", daemon=True)
        self._thread.start()

    @property
    def port(self):
        return self.address[1]

    def url(self, user="guest", password="guest", vhost="/"):
        return f"amqp://{user}:{password}@127.0.0.1:{self.port}/{vhost.lstrip('/')}"

    def cut(self):
        """Reset every connection through the proxy, and refuse new ones until ``restore()``."""
        self.severed.set()
        self.cuts += 1
        with self._lock:
            for sock in list(self._peers):
                self._drop(sock)

    def restore(self):
        """Let connections through again."""
        self.severed.clear()
        self.swallowing.clear()

    def swallow(self):
        """Keep every connection open but deliver nothing either way: what is written vanishes, as in a partition."""
        self.swallowing.set()

    def connections(self):
        with self._lock:
            return len(self._peers) // 2

    def close(self):
        self._closing = True
        self._thread.join(timeout=5)
        with self._lock:
            for sock in list(self._peers):
                self._drop(sock)
        self._selector.close()
        self.listener.close()

    def _pump(self):
        while not self._closing:
            for key, _ in self._selector.select(timeout=0.2):
                if key.fileobj is self.listener:
                    self._accept()
                else:
                    self._forward(key.fileobj)

    def _accept(self):
        try:
            client, _ = self.listener.accept()
        except BlockingIOError:
            return
        if self.severed.is_set():
            _reset(client)
            return
        try:
            upstream = socket.create_connection(self.upstream, timeout=5)
        except OSError:
            _reset(client)
            return
        with self._lock:
            for sock, peer in ((client, upstream), (upstream, client)):
                sock.setblocking(True)  # sends block (briefly) rather than drop data; reads are selected
                sock.settimeout(5)
                self._peers[sock] = peer
                self._selector.register(sock, selectors.EVENT_READ, None)

    def _forward(self, sock):
        with self._lock:
            peer = self._peers.get(sock)
            if peer is None:
                return
            try:
                data = sock.recv(65536)
                if data:
                    if not self.swallowing.is_set():
                        peer.sendall(data)
                    return
            except OSError:
                pass
            self._drop(sock)

    def _drop(self, sock):
        """Close ``sock`` and its peer with a reset (the lock is held)."""
        for end in (sock, self._peers.get(sock)):
            if end is None or end not in self._peers:
                continue
            del self._peers[end]
            with suppress(KeyError, ValueError):
                self._selector.unregister(end)
            _reset(end)


def _reset(sock):
    """Close ``sock`` so that the other end sees a reset, as a failed network shows it."""
    with suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # linger 0: RST
    with suppress(OSError):
        sock.close()
