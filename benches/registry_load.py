#!/usr/bin/env python3
"""Load benchmark of rlcm-registry on loopback: many concurrent installs and reads.

Starts `rlcm-registry serve` on a fresh data directory, adds a publisher, shares one connector
(a realistic ~60 KiB code and a small PNG logo) in a few versions and makes a share link, then
runs WORKERS threads for at most DURATION seconds or REQUESTS requests in all (whichever comes
first), each request one of:

  install  POST /l/TOKEN/install           (a new install credential, the full latest version)
  view     GET  /l/TOKEN  (JSON)           (the connector and its versions)
  check    GET  /v1/install  (credential)  (what `rlcm connector outdated` asks)

and reports throughput and p50/p99 latency per kind and overall.

With --connectors N (default 1), N connectors are shared (the first in three versions, the
others in one) and each gets a link; every request picks a connector at random. With
--mix install, every request is an install (the p99 of an install at N shared connectors).

Usage: python3 benches/registry_load.py [--bin target/release/rlcm-registry]
       [--workers 32] [--requests 20000] [--duration 60] [--connectors 1000] [--mix install]
Only the standard library is used.
"""
import argparse
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request


def call(method, url, body=None, token=None, accept="application/json"):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Accept", accept)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def pct(sorted_ms, p):
    if not sorted_ms:
        return float("nan")
    i = min(len(sorted_ms) - 1, int(round(p / 100.0 * (len(sorted_ms) - 1))))
    return sorted_ms[i]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=None)
    ap.add_argument("--workers", type=int, default=32)
    ap.add_argument("--requests", type=int, default=20000)
    ap.add_argument("--duration", type=float, default=60.0)
    ap.add_argument("--connectors", type=int, default=1)
    ap.add_argument("--mix", choices=("mixed", "install"), default="mixed")
    args = ap.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    binary = args.bin
    if binary is None:
        for cand in ("target/release/rlcm-registry", "target/debug/rlcm-registry"):
            if os.path.exists(os.path.join(root, cand)):
                binary = os.path.join(root, cand)
                break
    if binary is None or not os.path.exists(binary):
        sys.exit("rlcm-registry is not built: run `cargo build --release -p rlcm-registry` first")
    data = tempfile.mkdtemp(prefix="rlcm-registry-bench-")
    server = None
    try:
        out = subprocess.run([binary, "publisher", "add", "bench", "--data", data, "--format", "json"],
                             check=True, capture_output=True, text=True).stdout
        token = json.loads(out)["token"]
        server = subprocess.Popen([binary, "serve", "--data", data, "--listen", "127.0.0.1:0",
                                   "--max-failed-attempts", "1000000"],
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = server.stdout.readline().strip()
        if not line.startswith("listening on "):
            sys.exit("unexpected first line from the server: %r" % line)
        url = line[len("listening on "):]
        code = ("{\n  title: 'Bench',\n  actions: {\n" +
                "".join("    action_%d: { execute: lambda do |c, i| { id: %d } end },\n" % (i, i)
                        for i in range(800)) + "  }\n}\n").encode()
        logo = b"\x89PNG\r\n\x1a\n" + bytes(2000)
        links = []
        for n in range(args.connectors):
            slug = "bench" if n == 0 else "bench-%d" % n
            title = "Bench" if n == 0 else "Bench %d" % n
            for v in ((1, 2, 3) if n == 0 else (1,)):
                s, b = call("POST", url + "/v1/connectors/%s/versions" % slug, {
                    "title": title, "version": v, "note": "version %d" % v,
                    "code_base64": base64.b64encode(code + (b"# %d %d\n" % (n, v))).decode(),
                    "metadata": {"title": title, "description": "load benchmark"},
                    "logo_base64": base64.b64encode(logo).decode(),
                    "actions": ["action_%d" % i for i in range(800)], "triggers": []}, token)
                assert s == 201, (s, b)
            s, b = call("POST", url + "/v1/connectors/%s/links" % slug, None, token)
            assert s == 201, (s, b)
            links.append(json.loads(b)["url"])
        link = links[0]
        # A few credentials for the reads.
        creds = []
        for i in range(8):
            s, b = call("POST", links[i % len(links)] + "/install")
            assert s == 201, (s, b)
            creds.append(json.loads(b)["credential"])
        print("setup: %d shared connector(s), %d links" % (args.connectors, len(links)))

        lock = threading.Lock()
        results = {"install": [], "view": [], "check": []}
        errors = []
        counter = [0]
        deadline = time.monotonic() + args.duration

        def worker(n):
            i = 0
            while True:
                with lock:
                    if counter[0] >= args.requests or time.monotonic() > deadline:
                        return
                    counter[0] += 1
                    k = counter[0]
                kind = "install" if args.mix == "install" else ("install", "view", "check", "check")[k % 4]
                link = links[(k * 7919 + n) % len(links)]
                t0 = time.perf_counter()
                if kind == "install":
                    s, _ = call("POST", link + "/install")
                    ok = s == 201
                elif kind == "view":
                    s, _ = call("GET", link)
                    ok = s == 200
                else:
                    s, _ = call("GET", url + "/v1/install", None, creds[(n + i) % len(creds)])
                    ok = s == 200
                ms = (time.perf_counter() - t0) * 1000.0
                i += 1
                with lock:
                    if ok:
                        results[kind].append(ms)
                    else:
                        errors.append((kind, s))

        t0 = time.perf_counter()
        threads = [threading.Thread(target=worker, args=(n,)) for n in range(args.workers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - t0
        total = sum(len(v) for v in results.values())
        print("rlcm-registry load: %d workers, %d connectors, mix %s, %d requests in %.1f s (%d errors)"
              % (args.workers, args.connectors, args.mix, total, wall, len(errors)))
        print("%-8s %8s %10s %9s %9s" % ("kind", "count", "req/s", "p50 ms", "p99 ms"))
        everything = []
        for kind, ms in results.items():
            ms.sort()
            everything.extend(ms)
            print("%-8s %8d %10.1f %9.2f %9.2f" % (kind, len(ms), len(ms) / wall, pct(ms, 50), pct(ms, 99)))
        everything.sort()
        print("%-8s %8d %10.1f %9.2f %9.2f" % ("all", total, total / wall, pct(everything, 50), pct(everything, 99)))
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
