"""The clients of ``bench/load.py``, in a process of their own: N threads, each a logged-in browser.

    python bench/load_clients.py PLAN.json RESULTS.json

Run by ``bench/load.py`` (never in the server's process, so the clients'
own CPU is not counted as the server's time, only the machine's). The plan
names the server, the user, the number of clients, the phases (a name, a
duration, a mix of requests) and the task ids and workers to ask for. Each
client is a thread with one HTTP/1.1 connection (``http.client``: reused
while the server keeps it open, opened again when it closes it, as
gunicorn's sync workers do after every answer). Each logs in once through
``/accounts/login/`` with the form's CSRF token (``LOGINS_AT_ONCE`` at a
time), then, phase after phase,
sends requests until the phase's deadline, with ``think`` seconds (mean,
exponential) between them, 0 for a closed loop. Bounded: every phase ends
by itself, every request has a timeout.

The dashboard mix is what a browser does on the pages: a whole page, then
the htmx request its page sends on load (the list's count, a task's "same
arguments" box), and the live pages' polls (``HX-Request: true`` and the
target's id, with ``If-None-Match`` of the ETag last got, as the browser's
cache sends it; a list's poll swaps its rows, count placeholder included,
so the count follows it, 304 or not: the browser hands htmx its copy).
Writes every request's kind, latency and status, and the errors with
examples, to RESULTS.json.
"""
import http.client
import json
import random
import re
import sys
import threading
import time
from http.cookies import SimpleCookie
from urllib.parse import urlencode, urlsplit

#: Most error examples kept per kind.
EXAMPLES = 5
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
STYLESHEET = re.compile(r'<link rel="stylesheet" href="([^"]+)"')
INSIGHTS_POLL = re.compile(r'<section id="insights"[^>]* hx-get="([^"]+)"')


class Browser:
    """One client: a connection, a session cookie, the ETags it was given."""

    def __init__(self, base, timeout):
        parts = urlsplit(base)
        self.host, self.port, self.timeout = parts.hostname, parts.port, timeout
        self.connection = None
        self.cookies = {}
        self.etags = {}
        self.phase = ""
        self.samples = []  # (kind, latency ms, status)
        self.errors = []  # (kind, path, what)

    def _connect(self):
        if self.connection is None:
            self.connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        return self.connection

    def _close(self):
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    def request(self, method, path, headers=None, body=None):
        """``(status, headers, body)``, or raises what the connection raised (after closing it)."""
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        try:
            connection = self._connect()
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            content = response.read()
        except (OSError, http.client.HTTPException):
            self._close()
            raise
        if response.will_close:
            self._close()
        for header in response.headers.get_all("Set-Cookie") or ():
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        return response.status, response.headers, content

    def timed(self, kind, path, headers=None):
        """GET ``path``, recording its latency and status under ``kind``; the answer, or None on an error."""
        # The server's access log names the phase and the kind too (its own time per kind).
        headers = {**(headers or {}), "X-Bench-Kind": f"{self.phase}|{kind}"}
        start = time.perf_counter()
        try:
            status, answer_headers, content = self.request("GET", path, headers)
        except (OSError, http.client.HTTPException) as error:
            self.samples.append((kind, (time.perf_counter() - start) * 1000, 0))
            self.errors.append((kind, path, f"{type(error).__name__}: {error}"))
            return None
        self.samples.append((kind, (time.perf_counter() - start) * 1000, status))
        if status >= 400:
            snippet = content[:160].decode(errors="replace").replace("\n", " ")
            self.errors.append((kind, path, f"HTTP {status}: {snippet}"))
            return None
        return status, answer_headers, content

    def revalidated(self, kind, path, headers):
        """``timed``, sending the ETag of the copy held (as the browser's cache does), keeping the new one."""
        etag = self.etags.get(path)
        answer = self.timed(kind, path, {**headers, "If-None-Match": etag} if etag else headers)
        if answer is not None and answer[1].get("ETag"):
            self.etags[path] = answer[1]["ETag"]
        return answer

    def log_in(self, username, password):
        status, _headers, page = self.request("GET", "/accounts/login/")
        token = CSRF_INPUT.search(page.decode())
        if status != 200 or token is None:
            raise RuntimeError(f"login page: HTTP {status}, CSRF token {'found' if token else 'missing'}")
        form = urlencode({"username": username, "password": password, "csrfmiddlewaretoken": token.group(1),
                          "next": "/dashboard/"})
        status, headers, _page = self.request(
            "POST", "/accounts/login/", {"Content-Type": "application/x-www-form-urlencoded"}, form)
        if status != 302 or "sessionid" not in self.cookies:
            raise RuntimeError(f"log-in refused: HTTP {status}, to {headers.get('Location')}")
        return page


def htmx(target, current_url, trigger=None):
    """The headers htmx sends for a swap into ``#target`` from the page at ``current_url``."""
    headers = {"HX-Request": "true", "HX-Target": target, "HX-Current-URL": current_url}
    if trigger:
        headers["HX-Trigger"] = trigger
    return headers


class DashboardMix:
    """What one browser does on the dashboard: one of four pages, whole or polled, and the requests they send."""

    def __init__(self, plan, browser, rng):
        self.plan, self.browser, self.rng = plan, browser, rng
        self.overview_poll = None

    def list_page(self, kind, query):
        base = self.plan["base"]
        path = "/dashboard/tasks/" + (f"?{query}" if query else "")
        if self.rng.random() >= 0.5:  # the live list polling itself
            path = "/dashboard/tasks/?" + (f"{query}&" if query else "") + "refresh=5"
            answer = self.browser.revalidated(f"{kind} (htmx poll)", path,
                                              htmx("task-results", base + path, "task-results"))
        else:
            answer = self.browser.timed(kind, path)
        if answer is not None:
            # The rows' part holds the count's placeholder (hx-trigger="load"): every swap asks for the count.
            count = "/dashboard/count/tasks/" + (f"?{query}" if query else "")
            self.browser.timed("count (htmx)", count, htmx("result-count", base + path, "result-count"))

    def task_page(self):
        task_id = self.rng.choice(self.plan["task_ids"])
        path = f"/dashboard/tasks/{task_id}/"
        if self.browser.timed("task page", path) is not None:
            self.browser.timed("same args (htmx)", f"/dashboard/same-args/{task_id}/",
                               htmx("same-args", self.plan["base"] + path, "same-args"))

    def overview(self):
        if self.overview_poll is None or self.rng.random() < 0.5:
            answer = self.browser.timed("overview", "/dashboard/")
            if answer is not None:
                found = INSIGHTS_POLL.search(answer[2].decode())
                self.overview_poll = found.group(1).replace("&amp;", "&") if found else "/dashboard/"
            return
        headers = htmx("insights", self.plan["base"] + "/dashboard/", "insights")
        self.browser.revalidated("overview (htmx poll)", self.overview_poll, headers)

    def step(self):
        choice = self.rng.randrange(4)
        if choice == 0:
            self.list_page("task list", "")
        elif choice == 1:
            worker = self.rng.choice(self.plan["workers"])
            self.list_page("filtered list", urlencode({"status": "FAILURE", "worker": worker}))
        elif choice == 2:
            self.task_page()
        else:
            self.overview()


class BaselineMix:
    """The same clients on a path that does (almost) nothing: what the machine, not the app, costs."""

    def __init__(self, kind, path, browser):
        self.kind, self.path, self.browser = kind, path, browser

    def step(self):
        self.browser.timed(self.kind, self.path)


def make_mix(name, plan, browser, rng, static_path):
    if name == "dashboard":
        return DashboardMix(plan, browser, rng)
    if name == "static":
        return BaselineMix("static file", static_path, browser)
    return BaselineMix("/healthz", "/healthz", browser)


#: Log-ins at a time. Each costs the password hasher's work (PBKDF2, a million rounds, by design): fifty at
#: once queue for seconds behind each other, and a client that gives up leaves its log-in queued in the
#: server's backlog, in front of the first phase's requests.
LOGINS_AT_ONCE = 2
LOGIN_TIMEOUT = 60  # one log-in
LOGINS_DEADLINE = 300  # all of them (bench/load.py bounds the clients' process with it)


def run_client(number, plan, phases, start_barrier, end_barrier, failures, logins):
    rng = random.Random(number)
    browser = Browser(plan["base"], LOGIN_TIMEOUT)
    try:
        with logins:
            login_page = browser.log_in(plan["username"], plan["password"]).decode()
    except Exception as error:  # noqa: BLE001  (reported, and the client sits the phases out)
        failures.append(f"client {number}: {type(error).__name__}: {error}")
        login_page = None
    browser._close()
    browser.timeout = plan["timeout"]
    stylesheet = STYLESHEET.search(login_page or "")
    for phase in phases:
        start_barrier.wait()
        if login_page is not None and number < phase.get("clients", len(phase["samples"])):
            mix = make_mix(phase["mix"], plan, browser, rng, stylesheet.group(1) if stylesheet else "/static/")
            browser.samples, browser.errors, browser.phase = [], [], phase["name"]
            while time.monotonic() < phase["deadline"]:
                mix.step()
                think = phase.get("think", plan["think"])
                if think > 0:
                    time.sleep(min(rng.expovariate(1 / think), max(0.0, phase["deadline"] - time.monotonic())))
            phase["samples"][number], phase["errors"][number] = browser.samples, browser.errors
        end_barrier.wait()


def main():
    with open(sys.argv[1]) as source:
        plan = json.load(source)
    clients = plan["clients"]
    phases = [{**phase, "samples": [[] for _ in range(clients)], "errors": [[] for _ in range(clients)]}
              for phase in plan["phases"]]
    start_barrier, end_barrier = threading.Barrier(clients + 1), threading.Barrier(clients + 1)
    failures, logins = [], threading.Semaphore(LOGINS_AT_ONCE)
    threads = [threading.Thread(target=run_client, args=(n, plan, phases, start_barrier, end_barrier, failures,
                                                         logins), daemon=True) for n in range(clients)]
    login_start = time.perf_counter()
    for thread in threads:
        thread.start()
    results = {"phases": [], "login_failures": failures}
    for index, phase in enumerate(phases):
        # The first phase starts once every client has logged in (they wait at the barrier meanwhile).
        timeout = (LOGINS_DEADLINE if index == 0 else plan["timeout"] * 10) + phase["seconds"]
        phase["deadline"] = float("inf")
        while start_barrier.n_waiting < clients:
            if time.perf_counter() - login_start > timeout and index == 0:
                raise SystemExit(f"clients not ready after {timeout:.0f} s")
            time.sleep(0.01)
        if index == 0:
            results["login_seconds"] = time.perf_counter() - login_start
        phase["deadline"] = time.monotonic() + phase["seconds"]
        started = time.time()
        print(f"clients: {phase['name']} for {phase['seconds']:g} s", flush=True)
        start_barrier.wait()
        end_barrier.wait(timeout=timeout)
        results["phases"].append({
            "name": phase["name"], "started": started, "ended": time.time(),
            "samples": [sample for samples in phase["samples"] for sample in samples],
            "errors": [error for errors in phase["errors"] for error in errors],
        })
    with open(sys.argv[2], "w") as output:
        json.dump(results, output)


if __name__ == "__main__":
    main()
