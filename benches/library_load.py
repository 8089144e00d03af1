#!/usr/bin/env python3
"""Benchmark of the community library's search page on loopback, with many live listings.

Starts `rlcm-registry serve` on a fresh data directory, adds a publisher, shares LISTINGS small
connectors (a few KiB of code each) and submits a listing for each (apps, categories and
descriptions varied), approves them all with `rlcm-registry review approve`, then runs WORKERS
threads for at most DURATION seconds or REQUESTS requests in all, each a GET of one library page:

  text      /?q=WORD                 (title, description, app)
  category  /?category=NAME
  app       /?app=SLUG&category=NAME
  page      /?page=N                 (deep pagination)
  connector /connectors/SLUG         (a connector page with its history)

and reports throughput and p50/p99 latency per kind and overall, with the machine and command.

Usage: python3 benches/library_load.py [--bin target/release/rlcm-registry]
       [--listings 10000] [--workers 8] [--requests 4000] [--duration 60]
Only the standard library is used.
"""
import argparse
import base64
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

CATEGORIES = ["Analytics", "Collaboration", "Commerce", "Communication", "CRM", "Data",
              "Developer tools", "Finance", "HR", "IT service management", "Marketing",
              "Productivity", "Sales", "Security", "Support"]
APPS = ["salesforce", "slack", "servicenow", "zendesk", "jira", "netsuite", "hubspot", "workday",
        "snowflake", "stripe", "shopify", "github", "okta", "twilio", "box", "docusign"]
WORDS = ["sync", "contacts", "orders", "invoices", "tickets", "leads", "payroll", "events",
         "webhooks", "reports", "assets", "users", "files", "deals", "alerts", "metrics"]


def call(method, url, body=None, token=None, accept="application/json"):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Accept", accept)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def pct(sorted_ms, p):
    if not sorted_ms:
        return float("nan")
    i = min(len(sorted_ms) - 1, int(round(p / 100.0 * (len(sorted_ms) - 1))))
    return sorted_ms[i]


def parallel(n_threads, items, fn):
    items = list(items)
    lock = threading.Lock()
    errors = []

    def run():
        while True:
            with lock:
                if not items or errors:
                    return
                it = items.pop()
            try:
                fn(it)
            except Exception as e:  # noqa: BLE001 (reported below)
                with lock:
                    errors.append(e)
                return

    ts = [threading.Thread(target=run) for _ in range(n_threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errors:
        raise errors[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=None)
    ap.add_argument("--listings", type=int, default=10000)
    ap.add_argument("--workers", type=int, default=8)
    ap.add_argument("--requests", type=int, default=4000)
    ap.add_argument("--duration", type=float, default=60.0)
    args = ap.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    binary = args.bin
    if binary is None:
        for cand in ("target/release/rlcm-registry", "target/debug/rlcm-registry"):
            if os.path.exists(os.path.join(root, cand)):
                binary = os.path.join(root, cand)
                break
    if binary is None or not os.path.exists(binary):
        sys.exit("rlcm-registry is not built: run `cargo build --release --workspace -p rlcm-registry` first")
    print("machine: %s, %d cores, python %s; binary %s" % (platform.platform(), os.cpu_count(),
                                                          platform.python_version(), binary))
    print("command: %s" % " ".join([os.path.basename(sys.argv[0])] + sys.argv[1:]))
    data = tempfile.mkdtemp(prefix="rlcm-library-bench-")
    server = None
    rng = random.Random(17)
    try:
        out = subprocess.run([binary, "publisher", "add", "bench", "--data", data, "--format", "json"],
                             check=True, capture_output=True, text=True).stdout
        token = json.loads(out)["token"]
        server = subprocess.Popen([binary, "serve", "--data", data, "--listen", "127.0.0.1:0"],
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = server.stdout.readline().strip()
        if not line.startswith("listening on "):
            sys.exit("unexpected first line from the server: %r" % line)
        url = line[len("listening on "):]
        logo = b"\x89PNG\r\n\x1a\n" + bytes(200)
        t0 = time.perf_counter()

        def make(n):
            slug = "lib-%05d" % n
            words = rng.sample(WORDS, 3)
            title = "%s %s %05d" % (words[0].capitalize(), words[1], n)
            code = ("{\n  title: '%s',\n  actions: {\n" % title +
                    "".join("    %s_%d: { execute: lambda do |c, i| { id: %d } end },\n" % (words[2], i, i)
                            for i in range(20)) + "  }\n}\n").encode()
            s, b = call("POST", url + "/v1/connectors/%s/versions" % slug, {
                "title": title, "version": 1, "note": "First version of %s" % title,
                "code_base64": base64.b64encode(code).decode(),
                "metadata": {"title": title}, "logo_base64": base64.b64encode(logo).decode() if n % 2 else None,
                "actions": ["%s_%d" % (words[2], i) for i in range(20)], "triggers": []}, token)
            if s != 201:
                raise RuntimeError("share %s: %s %r" % (slug, s, b[:200]))
            s, b = call("POST", url + "/v1/connectors/%s/listing" % slug, {
                "app": APPS[n % len(APPS)],
                "categories": [CATEGORIES[n % len(CATEGORIES)], CATEGORIES[(n * 7 + 3) % len(CATEGORIES)]],
                "description": "Handles **%s** and %s for %s teams." % (words[1], words[2], words[0]),
                "direct_install": True}, token)
            if s != 201:
                raise RuntimeError("listing %s: %s %r" % (slug, s, b[:200]))

        parallel(8, range(args.listings), make)
        shared = time.perf_counter() - t0
        ids = [str(i) for i in range(1, args.listings + 1)]
        for i in range(0, len(ids), 2000):
            subprocess.run([binary, "review", "approve", *ids[i:i + 2000], "--data", data],
                           check=True, stdout=subprocess.DEVNULL)
        setup = time.perf_counter() - t0
        s, b = call("GET", url + "/", accept="text/html")
        assert s == 200 and (b"%d connectors" % args.listings) in b, (s, b[:300])
        print("setup: %d live listings in %.1f s (shares and submissions %.1f s)" % (args.listings, setup, shared))

        pages = max(1, args.listings // 24)

        def request(k):
            kind = ("text", "category", "app", "page", "connector")[k % 5]
            if kind == "text":
                path = "/?" + urllib.parse.urlencode({"q": rng.choice(WORDS)})
            elif kind == "category":
                path = "/?" + urllib.parse.urlencode({"category": rng.choice(CATEGORIES)})
            elif kind == "app":
                path = "/?" + urllib.parse.urlencode({"app": rng.choice(APPS), "category": rng.choice(CATEGORIES)})
            elif kind == "page":
                path = "/?page=%d" % rng.randint(1, pages)
            else:
                path = "/connectors/lib-%05d" % rng.randrange(args.listings)
            return kind, path

        lock = threading.Lock()
        results = {"text": [], "category": [], "app": [], "page": [], "connector": []}
        errors = []
        counter = [0]
        deadline = time.monotonic() + args.duration

        def worker():
            while True:
                with lock:
                    if counter[0] >= args.requests or time.monotonic() > deadline:
                        return
                    counter[0] += 1
                    kind, path = request(counter[0])
                t = time.perf_counter()
                s, _ = call("GET", url + path, accept="text/html")
                ms = (time.perf_counter() - t) * 1000.0
                with lock:
                    (results[kind] if s == 200 else errors).append(ms if s == 200 else (path, s))

        t0 = time.perf_counter()
        threads = [threading.Thread(target=worker) for _ in range(args.workers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - t0
        total = sum(len(v) for v in results.values())
        print("library search: %d live listings, %d workers, %d requests in %.1f s (%d errors)"
              % (args.listings, args.workers, total, wall, len(errors)))
        print("%-10s %8s %10s %9s %9s" % ("kind", "count", "req/s", "p50 ms", "p99 ms"))
        everything = []
        for kind, ms in results.items():
            ms.sort()
            everything.extend(ms)
            print("%-10s %8d %10.1f %9.2f %9.2f" % (kind, len(ms), len(ms) / wall, pct(ms, 50), pct(ms, 99)))
        everything.sort()
        print("%-10s %8d %10.1f %9.2f %9.2f" % ("all", total, total / wall, pct(everything, 50), pct(everything, 99)))
        if errors:
            print("errors (first 5):", errors[:5])
            sys.exit(1)
    finally:
        if server is not None:
            server.kill()
            server.wait()
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
