#!/usr/bin/env python3
"""Bounded soak of a running releasedesk (loopback only, Python standard library only).

Many signed-in users at once, each a thread with its own session and keep-alive connection:
developers (created through the admin page and added to the workspace as an admin would) read
the Tasks, Packages, package details, Production, Region Release and Reviews pages, search, and
create and submit scripts; two deployer sessions release batches of pending tasks (racing each
other: the loser's 409 is an expected, clearly told answer, counted as a conflict, not an
error); the server's worker applies the packages meanwhile.

Every WINDOW seconds it prints requests, req/s, errors (5xx, connection failures, unexpected
statuses), conflicts (409), p50 and p99 latency and the server's RSS (VmRSS, and RssAnon, its own
memory without the memory-mapped SQLite file). At the end it says whether the run held: no error,
p99 and RssAnon flat (last third versus first third after warm-up). Exit
status 1 when it did not.

usage: soak.py --base http://127.0.0.1:PORT --pid SERVER_PID --password DEMO_PASSWORD
               [--duration 180] [--users 24] [--window 15]
"""

import argparse
import http.client
import random
import re
import statistics
import sys
import threading
import time
import urllib.parse

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
CSRF_HEADER = re.compile(r'"X-CSRF-Token": "([^"]+)"')
PACKAGE_LINK = re.compile(r'/task-release/packages/(\d+)"')
REGION_LINK = re.compile(r'/region-release/tasks/(\d+)"')
PENDING_BOX = re.compile(r'name="task_ids" value="(\d+)"')
ALERT = re.compile(r'(?:role="alert"|class="field-error"|class="error"|id="[a-z-]*error")[^>]*>([^<]+)')
WORDS = ["orders", "daily", "refund", "ledger", "sync", "users", "report", "cleanup"]


class Stats:
    """Latencies and outcomes of the current window, and totals."""

    def __init__(self):
        self.lock = threading.Lock()
        self.latencies = []
        self.errors = 0
        self.conflicts = 0
        self.total = 0
        self.total_errors = 0
        self.total_conflicts = 0
        self.error_samples = []
        self.by_page = {}

    def record(self, seconds, outcome, detail="", page=""):
        with self.lock:
            self.latencies.append(seconds)
            if page:
                self.by_page.setdefault(page, []).append((time.monotonic(), seconds))
            self.total += 1
            if outcome == "error":
                self.errors += 1
                self.total_errors += 1
                if len(self.error_samples) < 10:
                    self.error_samples.append(detail)
            elif outcome == "conflict":
                self.conflicts += 1
                self.total_conflicts += 1

    def take(self):
        with self.lock:
            window = (self.latencies, self.errors, self.conflicts)
            self.latencies, self.errors, self.conflicts = [], 0, 0
            return window


class Session:
    """One user's cookie session on one keep-alive connection."""

    def __init__(self, base, stats):
        url = urllib.parse.urlparse(base)
        self.host, self.port, self.origin = url.hostname, url.port, base.rstrip("/")
        self.stats = stats
        self.cookies = {}
        self.csrf = ""
        self.conn = None

    def _connect(self):
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)

    def request(self, method, path, fields=None, expect=(200,), lost=(409,)):
        """Sends one request; records its latency and outcome; returns (status, headers, body).
        `lost` are the answers of a request that lost a race (told clearly; not an error)."""
        body = None
        headers = {"Origin": self.origin, "Accept": "text/html"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if fields is not None:
            if self.csrf:
                fields = list(fields) + [("csrf_token", self.csrf)]
            body = urllib.parse.urlencode(fields)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        started = time.monotonic()
        try:
            if self.conn is None:
                self._connect()
            self.conn.request(method, path, body=body, headers=headers)
            resp = self.conn.getresponse()
            text = resp.read().decode("utf-8", "replace")
        except (OSError, http.client.HTTPException) as e:
            self.conn = None
            self.stats.record(time.monotonic() - started, "error", f"{method} {path}: {e}")
            return 0, {}, ""
        elapsed = time.monotonic() - started
        page = label(method, path)
        for name, value in resp.getheaders():
            if name.lower() == "set-cookie":
                pair = value.split(";", 1)[0]
                k, _, v = pair.partition("=")
                self.cookies[k.strip()] = v.strip()
        if resp.status in expect:
            self.stats.record(elapsed, "ok", page=page)
        elif resp.status in lost:
            self.stats.record(elapsed, "conflict", page=page)
        else:
            said = ALERT.search(text)
            said = said.group(1).strip()[:160] if said else ""
            self.stats.record(elapsed, "error", f"{method} {path}: HTTP {resp.status} {said}")
        found = CSRF.search(text) or CSRF_HEADER.search(text)
        if found:
            self.csrf = found.group(1)
        return resp.status, dict((k.lower(), v) for k, v in resp.getheaders()), text

    def sign_in(self, username, password):
        self.request("GET", "/login")
        status, _, _ = self.request(
            "POST", "/login", [("username", username), ("password", password)], expect=(303,)
        )
        if status != 303:
            raise SystemExit(f"cannot sign in as {username} (HTTP {status})")
        # The session is renewed at sign-in: pick up the new token.
        self.request("GET", "/workspaces/demo")


def label(method, path):
    """`GET /workspaces/demo/task-release/packages/{id}?q`: one row per page in the summary."""
    route, _, query = path.partition("?")
    route = re.sub(r"/\d+", "/{id}", route)
    keys = ",".join(sorted(k for k, _ in urllib.parse.parse_qsl(query)))
    return f"{method} {route}" + (f"?{keys}" if keys else "")


def reader(session, rng, ids):
    """One read: a random page a developer looks at during the day."""
    ws = "/workspaces/demo"
    choice = rng.random()
    if choice < 0.25:
        q = urllib.parse.urlencode({"q": rng.choice(WORDS)})
        session.request("GET", f"{ws}/task-release/tasks?{q}")
    elif choice < 0.40:
        session.request("GET", f"{ws}/task-release/tasks?status=pending&sort=submitted_at")
    elif choice < 0.55:
        _, _, body = session.request("GET", f"{ws}/task-release/packages")
        ids["packages"] = PACKAGE_LINK.findall(body)[:50] or ids["packages"]
    elif choice < 0.70 and ids["packages"]:
        session.request("GET", f"{ws}/task-release/packages/{rng.choice(ids['packages'])}")
    elif choice < 0.80:
        session.request("GET", f"{ws}/production")
    elif choice < 0.90:
        _, _, body = session.request("GET", f"{ws}/region-release/tasks")
        ids["regions"] = REGION_LINK.findall(body)[:50] or ids["regions"]
        if ids["regions"]:
            session.request(
                "GET", f"{ws}/region-release/tasks/{rng.choice(ids['regions'])}"
            )
    else:
        session.request("GET", "/reviews")


def developer(session, rng, stop, ids, name):
    n = 0
    while not stop.is_set():
        if rng.random() < 0.2:
            n += 1
            path = f"soak/{name}_{n:05d}.sql"
            status, headers, _ = session.request(
                "POST",
                "/workspaces/demo/scripts",
                [
                    ("path", path),
                    ("script_type", "sql"),
                    ("schedule", ""),
                    ("description", "soak"),
                    ("content", f"SELECT {n}; -- {name}\n" * rng.randint(1, 20)),
                ],
                expect=(303,),
            )
            location = headers.get("location", "")
            if status == 303 and location:
                script = location.rsplit("/", 1)[-1]
                session.request(
                    "POST",
                    f"/workspaces/demo/scripts/{script}/submit",
                    [("message", f"soak {n}")],
                    expect=(303,),
                )
        else:
            reader(session, rng, ids)


def deployer(session, rng, stop, ids):
    while not stop.is_set():
        _, _, body = session.request("GET", "/workspaces/demo/task-release/tasks?status=pending")
        pending = PENDING_BOX.findall(body)
        if pending:
            batch = pending[: rng.randint(1, 20)]
            session.request(
                "POST",
                "/workspaces/demo/task-release/release",
                [("task_ids", t) for t in batch] + [("name", "soak batch"), ("comment", "")],
                expect=(303,),
                # The other deployer released some of these first: the form says which.
                lost=(409, 422),
            )
        reader(session, rng, ids)
        time.sleep(0.2)


def rss_mib(pid):
    """(VmRSS, RssAnon) in MiB. VmRSS also counts the pages of the memory-mapped SQLite file,
    which grow with the database and belong to the kernel's page cache; RssAnon is the
    process's own memory, the one a leak would grow."""
    found = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key = line.split(":")[0]
            if key in ("VmRSS", "RssAnon"):
                found[key] = int(line.split()[1]) / 1024
    return found.get("VmRSS", 0.0), found.get("RssAnon", 0.0)


def pct(values, p):
    if not values:
        return 0.0
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))] * 1000


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True)
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--duration", type=int, default=180)
    ap.add_argument("--users", type=int, default=24)
    ap.add_argument("--window", type=int, default=15)
    args = ap.parse_args()

    stats = Stats()
    setup = Stats()
    # Accounts: tenant admin creates the developers, the workspace admin adds them.
    tara = Session(args.base, setup)
    tara.sign_in("tara", args.password)
    carol = Session(args.base, setup)
    carol.sign_in("carol", args.password)
    carol.request("GET", "/workspaces/demo/settings")
    tag = f"{int(time.time()) % 100000:05d}"
    names = [f"soak{tag}u{i:02d}" for i in range(args.users)]
    for name in names:
        tara.request("GET", "/admin/users")
        tara.request(
            "POST",
            "/admin/users",
            [("username", name), ("display_name", name), ("password", args.password + "-soak")],
            expect=(303,),
        )
        carol.request(
            "POST",
            "/workspaces/demo/settings/members",
            [("username", name), ("role", "developer")],
            expect=(303,),
        )
    if setup.total_errors:
        print("setup failed:", *setup.error_samples, sep="\n  ", file=sys.stderr)
        return 1

    stop = threading.Event()
    threads = []
    for i, name in enumerate(names):
        s = Session(args.base, stats)
        s.sign_in(name, args.password + "-soak")
        ids = {"packages": [], "regions": []}
        t = threading.Thread(
            target=developer, args=(s, random.Random(i), stop, ids, name), daemon=True
        )
        threads.append(t)
    for i in range(2):
        s = Session(args.base, stats)
        s.sign_in("bob", args.password)
        ids = {"packages": [], "regions": []}
        threads.append(
            threading.Thread(
                target=deployer, args=(s, random.Random(1000 + i), stop, ids), daemon=True
            )
        )
    for t in threads:
        t.start()

    print(f"soak: {len(threads)} users for {args.duration} s against {args.base} (pid {args.pid})")
    print(f"{'t (s)':>6} {'requests':>9} {'req/s':>7} {'errors':>7} {'lost':>6} "
          f"{'p50 ms':>7} {'p99 ms':>7} {'RSS MiB':>8} {'anon MiB':>9}")
    rows = []
    started = time.monotonic()
    while time.monotonic() - started < args.duration:
        time.sleep(args.window)
        lat, errors, conflicts = stats.take()
        rss, anon = rss_mib(args.pid)
        row = (
            round(time.monotonic() - started),
            len(lat),
            len(lat) / args.window,
            errors,
            conflicts,
            pct(lat, 0.50),
            pct(lat, 0.99),
            rss,
            anon,
        )
        rows.append(row)
        print(f"{row[0]:>6} {row[1]:>9} {row[2]:>7.0f} {row[3]:>7} {row[4]:>6} "
              f"{row[5]:>7.1f} {row[6]:>7.1f} {row[7]:>8.1f} {row[8]:>9.1f}", flush=True)
    stop.set()
    for t in threads:
        t.join(timeout=35)

    # Flat: the last third of the windows against the first third after the first (warm-up).
    body = rows[1:] if len(rows) > 3 else rows
    third = max(1, len(body) // 3)
    first, last = body[:third], body[-third:]
    p99_first = statistics.median(r[6] for r in first)
    p99_last = statistics.median(r[6] for r in last)
    # The verdict uses the process's own memory (RssAnon); VmRSS is printed beside it.
    rss_first = statistics.median(r[8] for r in first)
    rss_last = statistics.median(r[8] for r in last)
    rss_peak = max(r[8] for r in rows)
    vm_first = statistics.median(r[7] for r in first)
    vm_last = statistics.median(r[7] for r in last)
    print(f"\ntotal: {stats.total} requests, {stats.total_errors} errors, "
          f"{stats.total_conflicts} lost races (409/422 with a message: two deployers, one task)")
    print(f"p99: {p99_first:.1f} ms early, {p99_last:.1f} ms late; "
          f"RssAnon: {rss_first:.1f} MiB early, {rss_last:.1f} MiB late, peak {rss_peak:.1f} MiB "
          f"(VmRSS with the mapped database file: {vm_first:.1f} -> {vm_last:.1f} MiB)")
    # Per page: p99 of the first and the last third of the run, to show what grows with the data.
    span = time.monotonic() - started
    print(f"\n{'page':<62} {'n':>6} {'p99 early':>10} {'p99 late':>9}")
    for page, samples in sorted(stats.by_page.items()):
        early = [d for t, d in samples if t - started < span / 3]
        late = [d for t, d in samples if t - started > 2 * span / 3]
        print(f"{page:<62} {len(samples):>6} {pct(early, 0.99):>10.1f} {pct(late, 0.99):>9.1f}")
    held = True
    if stats.total_errors:
        held = False
        print("errors:", *stats.error_samples, sep="\n  ")
    # Growth allowances: p99 may wobble on a shared 2-core machine; RSS must not climb.
    if p99_last > max(2 * p99_first, p99_first + 20):
        held = False
        print("p99 grew over the run")
    if rss_last > rss_first * 1.25 + 4:
        held = False
        print("RssAnon grew over the run")
    print("held" if held else "NOT held")
    return 0 if held else 1


if __name__ == "__main__":
    sys.exit(main())
