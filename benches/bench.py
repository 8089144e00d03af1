#!/usr/bin/env python3
"""Scale benchmark for rlcm (SPEC section 9): export, plan, import, impact, inspect and init on
generated workspaces of N recipes, side by side with `zip -qr` of the same tree and a
read-every-byte floor, in the same run on the same page cache.

  python3 benches/bench.py --sizes 1000,10000,100000 --out BENCHMARKS.md
  python3 benches/bench.py --quick                      # smoke test: 1k recipes, 1 run

For each size N it generates (with ../shared/tools/gen_env.py) a sandbox of N recipes and a
production variant (--drift 0.1 --extra N/20 --env-id 2200000002, same seed, so most recipes
match), runs `rlcm init` on both, warms the page cache with one untimed read of both trees, then
measures every command `--runs` times (`--runs-large` times from `--large` recipes up) and reports
the median wall time, the median CPU time (user+sys) and the largest peak RSS of the runs.

Measurement: GNU `/usr/bin/time -f` for CPU time and peak RSS (it reports the child and every
descendant it waited for), or, when GNU time is not installed, os.wait4() on the child, which
gives the same per-command rusage.  Wall time is taken in Python around the child (perf_counter).

Everyday mode (issue #18 parts 1-2): `--everyday --baseline OLD_BINARY` measures, for each size N
of production (generated as above, `rlcm init` by the measured binary), the everyday commands:
`plan` and `import` of a small package (a generated 500-recipe sandbox exported whole, ~560
files; import on a fresh `cp -a` of production each run, `sync` before the timed run), `impact`
of a connector and `connector check` of it at the tree's code. The new binary and the baseline run
alternately in the same loop, on the same trees and page cache; each is warmed once (untimed), so
the production index is built before the timed runs. Each binary reads its own `cp -a` of
production (two builds whose index formats differ would otherwise rebuild each other's index on
every run). The `_watch` rows repeat plan, impact and check with `rlcm watch` (of the measured
binary) running on each copy: a binary that has no watcher walks the tree as before.
`plan_recipes` plans a recipes-only package (the small sandbox without its connections,
connectors, properties and lookup tables: it changes no asset production recipes share).
`import_warm` imports into a copy whose summary cache an untimed import and rollback made
valid (a fresh `cp -a` has none: its cache is bound to the original's inodes). `import_watch` and
`import_recipes_watch` (last, measured binary only) import into the binary's own copy with its
watcher running: before each run the last run's import is rolled back and the harness waits until
the watcher has refreshed the index (`rlcm watch status`: `index_vouched`), so the import is planned
and staged from the index. Rows are medians of --runs (wall, CPU, peak RSS).

  python3 benches/bench.py --everyday --sizes 10k,100k --baseline /tmp/rlcm-base --rlcm target/release/rlcm

Python 3.11 standard library only.
"""
import argparse
import datetime
import fcntl
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS_START = "<!-- bench:results:start -->"
RESULTS_END = "<!-- bench:results:end -->"
GIB = 1024 * 1024 * 1024

# The rows, in table order: (key, label).
ROWS = [
    ("init", "rlcm init (sandbox)"),
    ("zip", "zip -qr (baseline)"),
    ("cat", "read-every-byte floor"),
    ("export", "rlcm export (everything)"),
    ("plan", "rlcm plan --format json"),
    ("import", "rlcm import --force --restart-recipes (a copy, its summary cache valid)"),
    ("impact", "rlcm impact \"Service 0 API\" --format json"),
    ("inspect", "rlcm inspect --format json"),
]
RLCM_ROWS = ["init", "export", "plan", "import", "impact", "inspect"]


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def parse_size(s):
    s = s.strip().lower().replace("_", "")
    mult = 1
    if s.endswith("k"):
        mult, s = 1000, s[:-1]
    elif s.endswith("m"):
        mult, s = 1000_000, s[:-1]
    return int(float(s) * mult)


def fmt_size(n):
    if n >= 1000_000 and n % 1000_000 == 0:
        return f"{n // 1000_000}M"
    if n >= 1000 and n % 1000 == 0:
        return f"{n // 1000}k"
    return str(n)


# --------------------------------------------------------------------------------------------
# measuring one command


class Timer:
    """Runs a command and returns wall, user, sys, peak RSS (KiB) and the exit code."""

    def __init__(self, kind):
        self.gnu_time = None
        if kind in ("auto", "time"):
            path = shutil.which("time", path="/usr/bin:/bin") or "/usr/bin/time"
            if os.path.exists(path) and self._is_gnu(path):
                self.gnu_time = path
            elif kind == "time":
                sys.exit("bench: --timer time: GNU time not found (apt-get install -y time)")
        self.kind = "GNU time" if self.gnu_time else "os.wait4"
        if not self.gnu_time:
            # A forked child starts with the harness's own resident set, and the kernel keeps that
            # high-water mark across exec: peak RSS has a floor, measured here with `true`.
            floor = self.run(["true"])["maxrss_kib"] / 1024
            self.kind += f" (peak RSS has a floor of {floor:.0f} MiB: the harness's own size at fork)"

    @staticmethod
    def _is_gnu(path):
        try:
            out = subprocess.run([path, "-f", "%M", "true"], capture_output=True, text=True, timeout=10)
            return out.returncode == 0 and out.stderr.strip().isdigit()
        except (OSError, subprocess.SubprocessError):
            return False

    def run(self, argv, cwd=None, env=None, stdout=None, timeout=None):
        out = subprocess.DEVNULL if stdout is None else stdout
        err_file = tempfile.TemporaryFile()
        if self.gnu_time:
            fd, tfile = tempfile.mkstemp(prefix="bench-time-")
            os.close(fd)
            full = [self.gnu_time, "-f", "%U %S %M", "-o", tfile] + list(argv)
        else:
            full = list(argv)
        t0 = time.perf_counter()
        p = subprocess.Popen(full, cwd=cwd, env=env, stdout=out, stderr=err_file, start_new_session=True)
        timed_out = []

        def kill():
            timed_out.append(True)
            try:
                os.killpg(p.pid, 9)
            except OSError:
                pass

        timer = threading.Timer(timeout, kill) if timeout else None
        if timer:
            timer.start()
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        if timer:
            timer.cancel()
        p.returncode = os.waitstatus_to_exitcode(status)
        rc = p.returncode
        if self.gnu_time:
            with open(tfile) as f:
                lines = [l for l in f.read().splitlines() if l.strip()]
            os.unlink(tfile)
            try:
                u, s, m = lines[-1].split()
                user, system, maxrss = float(u), float(s), int(m)
            except (IndexError, ValueError):
                user, system, maxrss = ru.ru_utime, ru.ru_stime, ru.ru_maxrss
        else:
            user, system, maxrss = ru.ru_utime, ru.ru_stime, ru.ru_maxrss
        err_file.seek(0)
        stderr = err_file.read()[-2000:].decode("utf-8", "replace")
        err_file.close()
        return {"wall": wall, "user": user, "sys": system, "cpu": user + system, "maxrss_kib": maxrss,
                "rc": "timeout" if timed_out else rc, "stderr_tail": stderr}


def cpu_idle(interval=0.5):
    """Fraction of the machine's CPU time that was idle over `interval` seconds (/proc/stat)."""

    def snap():
        with open("/proc/stat") as f:
            vals = [int(x) for x in f.readline().split()[1:]]
        return vals[3] + (vals[4] if len(vals) > 4 else 0), sum(vals[:8])

    try:
        i0, t0 = snap()
        time.sleep(interval)
        i1, t1 = snap()
        return (i1 - i0) / (t1 - t0) if t1 > t0 else 1.0
    except (OSError, ValueError, IndexError):
        return None


def wait_idle(max_wait, threshold):
    """Waits (at most max_wait seconds) until the machine is idle enough; returns the idle fraction."""
    deadline = time.monotonic() + max_wait
    idle = cpu_idle()
    while idle is not None and idle < threshold and time.monotonic() < deadline:
        time.sleep(1)
        idle = cpu_idle()
    return idle


def sh(cmd, cwd=None, check=True):
    r = subprocess.run(cmd, shell=True, cwd=cwd, capture_output=True, text=True)
    if check and r.returncode != 0:
        sys.exit(f"bench: `{cmd}` failed ({r.returncode}): {r.stderr.strip()}")
    return r.stdout


def tree_stats(root):
    files = size = 0
    for dirpath, dirnames, filenames in os.walk(root):
        if ".rlcm" in dirnames:
            dirnames.remove(".rlcm")
        for fn in filenames:
            files += 1
            size += os.lstat(os.path.join(dirpath, fn)).st_size
    return files, size


def warm(tree):
    subprocess.run(f"find {sh_quote(tree)} -type f -print0 | xargs -0 cat > /dev/null", shell=True, check=False)


def sh_quote(s):
    return "'" + s.replace("'", "'\\''") + "'"


# --------------------------------------------------------------------------------------------
# environment and machine


def build_rlcm(args):
    if args.rlcm:
        path = os.path.abspath(args.rlcm)
        if not os.access(path, os.X_OK):
            sys.exit(f"bench: --rlcm {path}: not an executable")
        return path
    target = os.environ.get("CARGO_TARGET_DIR") or os.path.join(REPO, "target")
    if not os.path.isabs(target):
        target = os.path.join(REPO, target)
    log(f"bench: cargo build --release (target dir {target}) ...")
    r = subprocess.run(["cargo", "build", "--release"], cwd=REPO)
    if r.returncode != 0:
        sys.exit("bench: cargo build --release failed")
    return os.path.join(target, "release", "rlcm")


def machine_info(rlcm):
    info = {}
    info["nproc"] = sh("nproc", check=False).strip()
    free = sh("free -g", check=False).splitlines()
    info["free_g"] = next((l.split() for l in free if l.startswith("Mem:")), [])
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    info["cpu"] = model
    info["kernel"] = platform.release()
    info["python"] = platform.python_version()
    commit = sh(f"git -C {sh_quote(REPO)} rev-parse --short HEAD", check=False).strip() or "unknown"
    dirty = sh(f"git -C {sh_quote(REPO)} status --porcelain -- src Cargo.toml Cargo.lock", check=False).strip()
    info["commit"] = commit + (" (+ uncommitted changes in src/)" if dirty else "")
    info["date"] = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    try:
        st = os.stat(rlcm)
        info["binary"] = f"{rlcm} (built {datetime.datetime.fromtimestamp(st.st_mtime).strftime('%Y-%m-%d %H:%M')})"
    except OSError:
        info["binary"] = rlcm
    info["version"] = sh(f"{sh_quote(rlcm)} --version", check=False).strip()
    return info


# --------------------------------------------------------------------------------------------
# one size


class SizeBench:
    def __init__(self, args, timer, rlcm, n):
        self.args, self.timer, self.rlcm, self.n = args, timer, rlcm, n
        self.dir = os.path.join(args.workdir, f"n{n}")
        self.S = os.path.join(self.dir, "sandbox")
        self.P = os.path.join(self.dir, "production")
        self.PC = os.path.join(self.dir, "production-copy")
        self.pkg = os.path.join(self.dir, "package.zip")
        self.zip_out = os.path.join(self.dir, "zip-baseline.zip")
        self.manifest = os.path.join(self.dir, "all.yaml")
        self.runs = args.runs_large if n >= args.large else args.runs
        self.env = dict(os.environ, RLCM_USER="bench")
        if args.rayon_threads:
            self.env["RAYON_NUM_THREADS"] = str(args.rayon_threads)
        self.result = {"n": n, "runs_target": self.runs, "rows": {}, "info": {}}

    # -- generation
    def generate(self):
        a = self.args
        gen_sb = [sys.executable, a.gen, "--out", self.S, "--recipes", str(self.n)]
        gen_pr = [sys.executable, a.gen, "--out", self.P, "--recipes", str(self.n), "--drift", "0.1",
                  "--extra", str(self.n // 20), "--env-id", "2200000002", "--seed", "1"]
        marker = os.path.join(self.dir, "generated.json")
        want = {"sandbox": gen_sb[1:], "production": gen_pr[1:]}
        if a.reuse and os.path.exists(marker):
            with open(marker) as f:
                have = json.load(f)
            if have.get("args") == want:
                log(f"bench: n={self.n}: reusing generated trees in {self.dir}")
                self.result["info"]["gen_seconds"] = have.get("seconds")
                self.result["info"]["gen_reused"] = True
                for t in (self.S, self.P):
                    shutil.rmtree(os.path.join(t, ".rlcm"), ignore_errors=True)
                shutil.rmtree(self.PC, ignore_errors=True)
                return
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)
        log(f"bench: n={self.n}: generating sandbox and production ({a.gen_jobs} at a time) ...")
        t0 = time.perf_counter()
        secs = {}
        if a.gen_jobs >= 2:
            procs = {name: (subprocess.Popen(cmd, stdout=subprocess.DEVNULL), time.perf_counter())
                     for name, cmd in (("sandbox", gen_sb), ("production", gen_pr))}
            for name, (p, start) in procs.items():
                if p.wait() != 0:
                    sys.exit(f"bench: gen_env.py for {name} failed")
                secs[name] = round(time.perf_counter() - start, 1)
        else:
            for name, cmd in (("sandbox", gen_sb), ("production", gen_pr)):
                start = time.perf_counter()
                subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
                secs[name] = round(time.perf_counter() - start, 1)
        secs["total"] = round(time.perf_counter() - t0, 1)
        subprocess.run(["sync"], check=False)
        self.result["info"]["gen_seconds"] = secs
        with open(marker, "w") as f:
            json.dump({"args": want, "seconds": secs}, f)

    # -- measuring a row
    def measure(self, key, argv, cwd=None, setup=None, stdout=None, ok=(0,)):
        only = self.args.only
        if only and key not in only:
            return None
        samples = []
        for i in range(self.runs):
            if setup:
                setup()
            if self.args.cold_summary_cache and key in RLCM_ROWS:
                for tree in (self.S, self.P, self.PC):
                    self.rm(os.path.join(tree, ".rlcm", "cache"))
            idle = wait_idle(self.args.wait_idle, self.args.idle_threshold) if self.args.wait_idle else cpu_idle(0.5)
            r = self.timer.run(argv, cwd=cwd, env=self.env, stdout=stdout, timeout=self.args.timeout)
            r["idle_before"] = None if idle is None else round(idle, 2)
            samples.append(r)
            log(f"bench: n={self.n} {key:8s} run {i + 1}/{self.runs}: wall {r['wall']:.3f}s "
                f"cpu {r['cpu']:.2f}s rss {r['maxrss_kib'] / 1024:.0f} MiB rc {r['rc']} "
                f"(idle before: {'?' if idle is None else f'{idle:.0%}'})")
            if r["rc"] not in ok:
                log(f"bench:   stderr: {r['stderr_tail'].strip()[-600:]}")
            if r["rc"] == "timeout":
                break
            if i == 0 and self.runs > 1 and r["wall"] > self.args.slow_cap:
                log(f"bench:   first run took over {self.args.slow_cap:g}s: 1 run only")
                break
        row = {
            "argv": " ".join(argv),
            "runs": len(samples),
            "wall": statistics.median(s["wall"] for s in samples),
            "cpu": statistics.median(s["cpu"] for s in samples),
            "user": statistics.median(s["user"] for s in samples),
            "sys": statistics.median(s["sys"] for s in samples),
            "maxrss_mib": max(s["maxrss_kib"] for s in samples) / 1024,
            "rc": sorted({str(s["rc"]) for s in samples}),
            "samples": [{k: v for k, v in s.items() if k != "stderr_tail"} for s in samples],
            "stderr_tail": samples[-1]["stderr_tail"][-600:] if samples[-1]["rc"] not in ok else "",
        }
        self.result["rows"][key] = row
        return row

    def rm(self, path):
        if os.path.isdir(path):
            shutil.rmtree(path)
        elif os.path.exists(path):
            os.unlink(path)

    def run(self):
        r = self.rlcm
        self.generate()
        self.result["info"]["loadavg_start"] = round(os.getloadavg()[0], 2)
        files, size = tree_stats(self.S)
        pfiles, psize = tree_stats(self.P)
        self.result["info"].update(sandbox_files=files, sandbox_mib=round(size / 2**20, 1),
                                   production_files=pfiles, production_mib=round(psize / 2**20, 1))
        log(f"bench: n={self.n}: sandbox {files} files {size / 2**20:.0f} MiB, "
            f"production {pfiles} files {psize / 2**20:.0f} MiB; warming the page cache")
        warm(self.S)
        warm(self.P)

        # init: the sandbox, `runs` times (removing .rlcm/ in between: init writes nothing else);
        # the production tree once, untimed for the table
        self.measure("init", [r, "init", self.S, "--name", "sandbox", "--id", "1100000001"],
                     setup=lambda: self.rm(os.path.join(self.S, ".rlcm")))
        if not os.path.exists(os.path.join(self.S, ".rlcm", "env.json")):
            self.rm(os.path.join(self.S, ".rlcm"))
            subprocess.run([r, "init", self.S, "--name", "sandbox", "--id", "1100000001"],
                           env=self.env, check=True, stdout=subprocess.DEVNULL)
        self.rm(os.path.join(self.P, ".rlcm"))
        t = self.timer.run([r, "init", self.P, "--name", "production", "--id", "2200000002"], env=self.env)
        if t["rc"] != 0:
            sys.exit(f"bench: rlcm init of production failed: {t['stderr_tail']}")
        self.result["info"]["init_production"] = {k: t[k] for k in ("wall", "cpu", "maxrss_kib")}

        # baseline and floor (the sandbox tree as it is now, .rlcm/ included)
        self.measure("zip", ["zip", "-qr", self.zip_out, "."], cwd=self.S,
                     setup=lambda: self.rm(self.zip_out))
        if os.path.exists(self.zip_out):
            self.result["info"]["zip_mib"] = round(os.path.getsize(self.zip_out) / 2**20, 1)
        self.rm(self.zip_out)
        self.measure("cat", ["sh", "-c", f"find {sh_quote(self.S)} -type f -print0 | xargs -0 cat > /dev/null"])

        # export of everything
        with open(self.manifest, "w") as f:
            f.write('name: everything\nfolders: [""]\n')
        need_pkg = not self.args.only or set(self.args.only) & {"export", "plan", "import"}
        row = None
        if need_pkg:
            if self.args.only and "export" not in self.args.only:
                self.rm(self.pkg)
                subprocess.run([r, "export", "--env", self.S, "--manifest", self.manifest, "-o", self.pkg],
                               env=self.env, stdout=subprocess.DEVNULL, check=False)
            else:
                row = self.measure("export", [r, "export", "--env", self.S, "--manifest", self.manifest,
                                              "-o", self.pkg], setup=lambda: self.rm(self.pkg))
        have_pkg = os.path.exists(self.pkg)
        if have_pkg:
            self.result["info"]["package_mib"] = round(os.path.getsize(self.pkg) / 2**20, 1)
        elif need_pkg:
            log("bench: export produced no package: plan and import skipped")

        if have_pkg:
            self.measure("plan", [r, "plan", self.pkg, "--env", self.P, "--format", "json"], ok=(0, 3))
            # plan counts, untimed, for the record
            if not self.args.only or "plan" in self.args.only:
                p = subprocess.run([r, "plan", self.pkg, "--env", self.P, "--format", "json"], env=self.env,
                                   capture_output=True)
                try:
                    doc = json.loads(p.stdout)
                    self.result["info"]["plan_counts"] = doc.get("counts")
                    self.result["info"]["plan_blocked"] = doc.get("blocked")
                    self.result["info"]["plan_impact_entries"] = len(doc.get("impact") or [])
                except ValueError:
                    pass

            def fresh_copy():
                self.rm(self.PC)
                subprocess.run(["cp", "-a", self.P, self.PC], check=True)
                # A copy's summary cache is bound to the original's inodes (since 2026-12-02) and
                # ignored: an untimed read that writes the production index (`RLCM_INDEX=on`)
                # writes the copy's summary cache too, as a production rlcm has been used on has
                # it (the import itself runs without the index, from the whole tree). A binary
                # without that refresh parses every file of production in the import, as the
                # rows measured from 2026-12-02 to session 15 did.
                subprocess.run([r, "impact", "Service 0 API", "--env", self.PC, "--format", "json"],
                               env=dict(self.env, RLCM_INDEX="on"), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, check=False)
                subprocess.run(["sync"], check=False)

            self.measure("import", [r, "import", self.pkg, "--env", self.PC, "--force", "--restart-recipes"],
                         setup=fresh_copy)
            self.rm(self.PC)

        self.measure("impact", [r, "impact", "Service 0 API", "--env", self.P, "--format", "json"])
        self.measure("inspect", [r, "inspect", self.S, "--format", "json"])
        self.result["info"]["loadavg_end"] = round(os.getloadavg()[0], 2)
        return self.result

    def cleanup(self):
        if self.args.keep or self.args.reuse:
            for p in (self.PC, self.pkg, self.zip_out):
                self.rm(p)
        else:
            self.rm(self.dir)


# --------------------------------------------------------------------------------------------
# report


def targets(results):
    """The targets from the issues, evaluated on what was measured."""
    by_n = {res["n"]: res["rows"] for res in results}
    out = []

    def wall(n, key):
        row = by_n.get(n, {}).get(key)
        return row["wall"] if row and all(rc in ("0", "3") for rc in row["rc"]) else None

    for key, factor in (("export", 0.8), ("plan", 0.5)):
        w, z = wall(10000, key), wall(10000, "zip")
        if w is None or z is None:
            out.append((f"10k: {key} wall ≤ {factor} × zip -qr wall", "not measured", "n/a"))
        else:
            out.append((f"10k: {key} wall ≤ {factor} × zip -qr wall",
                        f"{w:.2f} s vs {factor} × {z:.2f} s = {factor * z:.2f} s ({w / z:.2f} × zip)",
                        "met" if w <= factor * z else "NOT met"))
    w = wall(100000, "impact")
    out.append(("100k: impact of a connector < 1 s", "not measured" if w is None else f"{w:.2f} s",
                "n/a" if w is None else ("met" if w < 1 else "NOT met")))
    rows100 = by_n.get(100000, {})
    rl = [k for k in RLCM_ROWS if k in rows100]
    if rl:
        worst = max(rl, key=lambda k: rows100[k]["maxrss_mib"])
        over = [k for k in rl if rows100[k]["maxrss_mib"] * 2**20 >= GIB]
        out.append(("100k: peak RSS < 1 GiB for every command",
                    f"largest: {worst} {rows100[worst]['maxrss_mib']:.0f} MiB"
                    + (f"; over: {', '.join(over)}" if over else ""),
                    "NOT met" if over else "met"))
        def cpu(n, key):
            row = by_n.get(n, {}).get(key)
            return row["cpu"] if row else None

        for what, get in (("wall", wall), ("CPU", cpu)):
            scal, bad = [], []
            for k in rl:
                a, b = get(100000, k), get(10000, k)
                if a is not None and b:
                    scal.append(f"{k} {a / b:.1f}×")
                    if a / b > 11:
                        bad.append(k)
            out.append((f"100k {what} time ≤ 11 × 10k {what} time (every rlcm command)",
                        ", ".join(scal) or "not measured",
                        ("NOT met (" + ", ".join(bad) + ")") if bad else ("met" if scal else "n/a")))
    else:
        out.append(("100k: peak RSS < 1 GiB for every command", "not measured", "n/a"))
        out.append(("100k time ≤ 11 × 10k time (every rlcm command)", "not measured", "n/a"))
    return out


def render(results, info, args, cmdline):
    L = []
    L.append(f"Command: `{cmdline}`")
    L.append("")
    mem = info["free_g"]
    L.append(f"- Machine: {info['nproc']} CPUs ({info['cpu']}), "
             f"{mem[1] + ' GiB total, ' + mem[-1] + ' GiB available' if len(mem) >= 7 else 'memory unknown'} "
             f"(`free -g`), Linux {info['kernel']}, Python {info['python']}")
    L.append(f"- rlcm: {info['version']}, binary {info['binary']}"
             + (f", built by the harness from commit `{info['commit']}`" if info.get("built_by_harness")
                else f" (given with --rlcm); work tree at run time: commit `{info['commit']}`")
             + (f"; binary: {info['label']}" if info.get("label") else ""))
    L.append(f"- Date: {info['date']}; timer: {info['timer']}; "
             f"RAYON_NUM_THREADS={args.rayon_threads or 'unset (all cores)'}; rlcm summary cache "
             + ("removed before every run (`--cold-summary-cache`: cold)" if getattr(args, "cold_summary_cache", False)
                else "as rlcm leaves it (written by init and writing commands: warm)"))
    runs_desc = ", ".join(f"{fmt_size(r['n'])}: {r['runs_target']}" for r in results)
    L.append(f"- Runs per command ({runs_desc}); wall and CPU are medians, peak RSS the largest of the runs. "
             "A command whose first run takes over "
             f"{args.slow_cap:g} s is run once. Page cache warm (one untimed read of both trees first).")
    L.append("")
    for res in results:
        i = res["info"]
        gen = i.get("gen_seconds")
        gen_s = (f"generated in {gen.get('total')} s" if isinstance(gen, dict) else "reused") if gen else ""
        if gen and i.get("gen_reused"):
            gen_s = f"reused, {gen_s} by an earlier --reuse run"
        L.append(f"- {fmt_size(res['n'])}: sandbox {i.get('sandbox_files')} files / {i.get('sandbox_mib')} MiB, "
                 f"production {i.get('production_files')} files / {i.get('production_mib')} MiB ({gen_s}); "
                 f"package {i.get('package_mib', '?')} MiB, zip -qr {i.get('zip_mib', '?')} MiB; "
                 f"plan: {i.get('plan_counts')}, blocked {i.get('plan_blocked')}, "
                 f"{i.get('plan_impact_entries', '?')} impact entries; init production "
                 f"{i.get('init_production', {}).get('wall', 0):.2f} s; 1-min load average "
                 f"{i.get('loadavg_start')} before the timed runs, {i.get('loadavg_end')} after")
    L.append("")
    L.append("| recipes | command | runs | exit | wall s | CPU s | CPU/wall | peak RSS MiB | × zip -qr wall |")
    L.append("|---:|---|---:|---|---:|---:|---:|---:|---:|")
    for res in results:
        rows = res["rows"]
        z = rows.get("zip", {}).get("wall")
        for key, label in ROWS:
            row = rows.get(key)
            if not row:
                continue
            ratio = f"{row['wall'] / z:.2f}" if z else "–"
            par = f"{row['cpu'] / row['wall']:.2f}" if row["wall"] > 0 else "–"
            L.append(f"| {fmt_size(res['n'])} | {label} | {row['runs']} | {','.join(row['rc'])} | "
                     f"{row['wall']:.3f} | {row['cpu']:.2f} | {par} | {row['maxrss_mib']:.0f} | {ratio} |")
    L.append("")
    if len(results) > 1:
        pairs = list(zip(results, results[1:]))
        L.append("Scaling: time at one size over time at the previous one, wall (CPU); linear is the size "
                 "ratio, the target is ≤ 11 for 100k/10k. On a busy machine the CPU ratio is the steadier one.")
        L.append("")
        L.append("| command | " + " | ".join(f"{fmt_size(b['n'])} / {fmt_size(a['n'])}" for a, b in pairs) + " |")
        L.append("|---|" + "---:|" * len(pairs))
        for key, label in ROWS:
            cells = []
            for a, b in pairs:
                ra, rb = a["rows"].get(key), b["rows"].get(key)
                cells.append(f"{rb['wall'] / ra['wall']:.1f} ({rb['cpu'] / ra['cpu']:.1f})"
                             if ra and rb and ra["wall"] > 0 and ra["cpu"] > 0 else "–")
            if any(c != "–" for c in cells):
                L.append(f"| {label} | " + " | ".join(cells) + " |")
        L.append("")
    L.append("Targets (from the issues):")
    L.append("")
    L.append("| target | measured | status |")
    L.append("|---|---|---|")
    for t, m, s in targets(results):
        L.append(f"| {t} | {m} | {s} |")
    L.append("")
    notes = []
    for res in results:
        for key, row in res["rows"].items():
            bad = [rc for rc in row["rc"] if rc not in ("0",) and not (key == "plan" and rc == "3")]
            if bad:
                notes.append(f"- {fmt_size(res['n'])} {key}: exit {','.join(bad)}: "
                             f"`{row['stderr_tail'].strip().splitlines()[-1] if row['stderr_tail'].strip() else ''}`")
    idles = [s["idle_before"] for res in results for row in res["rows"].values() for s in row["samples"]
             if s.get("idle_before") is not None]
    if idles:
        busy = sum(1 for x in idles if x < args.idle_threshold)
        L.append(f"Machine idle (all CPUs) in the 0.5 s before each timed run: median {statistics.median(idles):.0%}, "
                 f"lowest {min(idles):.0%}; {busy} of {len(idles)} runs started below {args.idle_threshold:.0%} idle "
                 f"(--wait-idle {args.wait_idle:g} s). Other processes on the machine inflate wall time, "
                 "not CPU time: compare CPU s when CPU/wall is low.")
        L.append("")
    if notes:
        L.append("Failures:")
        L.append("")
        L.extend(notes)
        L.append("")
    return "\n".join(L)


HEADER = """# rlcm benchmarks

Scale measurements for SPEC §9 (100,000 recipes must export, plan and import on one 2-core machine,
memory that does not grow with file sizes, time that grows linearly). The harness is
`benches/bench.py` (see `benches/README.md`); the section between the markers below is rewritten
by every run:

    python3 benches/bench.py --sizes 1000,10000,100000 --out BENCHMARKS.md

Each size N is a generated sandbox (`gen_env.py --recipes N`) and production
(`--drift 0.1 --extra N/20 --env-id 2200000002 --seed 1`). Rows: `rlcm init` of the sandbox;
`zip -qr` of the sandbox tree (the baseline every ratio is relative to); the read-every-byte floor
`find S -type f -print0 | xargs -0 cat > /dev/null` (warm page cache); `rlcm export` of everything
(manifest `folders: [""]`); `rlcm plan PKG --env PROD --format json`; `rlcm import PKG --env COPY
--force --restart-recipes` on a fresh `cp -a` of production each run (copy not timed);
`rlcm impact "Service 0 API" --env PROD --format json`; `rlcm inspect S --format json`.
rlcm's summary cache (`.rlcm/cache/`) is as rlcm leaves it (warm) unless `--cold-summary-cache`.

"""


def write_out(path, body):
    section = f"{RESULTS_START}\n## Results\n\n{body}\n{RESULTS_END}\n"
    if os.path.exists(path):
        with open(path) as f:
            text = f.read()
        if RESULTS_START in text and RESULTS_END in text:
            pre, rest = text.split(RESULTS_START, 1)
            post = rest.split(RESULTS_END, 1)[1].lstrip("\n")
            text = pre + section + ("\n" + post if post else "")
        else:
            text = text.rstrip("\n") + "\n\n" + section
    else:
        text = HEADER + section
    with open(path, "w") as f:
        f.write(text)


# --------------------------------------------------------------------------------------------


# --------------------------------------------------------------------------------------------
# everyday mode: a small package and impact queries against a large production, two binaries


EVERYDAY_ROWS = [
    ("plan", "rlcm plan SMALL.zip --env PROD --format json"),
    ("import", "rlcm import SMALL.zip --env COPY --force --restart-recipes (fresh cp -a, sync before)"),
    ("import_warm", "the same import, the copy's summary cache made valid first (untimed import + rollback)"),
    ("impact", "rlcm impact \"Service 0 API\" --env PROD --format json"),
    ("check", "rlcm connector check \"Service 0 API\" tree --env PROD --format json"),
    ("plan_recipes", "rlcm plan RECIPES-ONLY/ --env PROD --format json (the sandbox's recipes alone)"),
    ("plan_watch", "the plan of SMALL.zip, `rlcm watch` running on PROD"),
    ("plan_recipes_watch", "the plan of RECIPES-ONLY/, `rlcm watch` running on PROD"),
    ("impact_watch", "the same impact, `rlcm watch` running on PROD"),
    ("check_watch", "the same connector check, `rlcm watch` running on PROD"),
    ("import_watch", "rlcm import SMALL.zip --env PROD --force --restart-recipes, `rlcm watch` running (the "
                     "last run's import rolled back, the watcher's index refreshed, sync before; measured "
                     "binary only)"),
    ("import_recipes_watch", "the same with RECIPES-ONLY/"),
]


def everyday(args, timer, binaries, n):
    """Runs the everyday rows for production size n with each binary; returns {name: {row: stats}}."""
    d = os.path.join(args.workdir, f"everyday-n{n}")
    P, PC = os.path.join(d, "production"), os.path.join(d, "production-copy")
    small, pkg = os.path.join(d, "small-sandbox"), os.path.join(d, "small.zip")
    # The production index is opt-in (`RLCM_INDEX=on`) until writers keep it up to date.
    env = dict(os.environ, RLCM_USER="bench", RLCM_INDEX=os.environ.get("RLCM_INDEX", "on"))
    marker = os.path.join(d, "generated.json")
    want = [n, args.small]
    have = None
    if args.reuse and os.path.exists(marker):
        with open(marker) as f:
            have = json.load(f)
    if have != want:
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        log(f"bench: everyday n={n}: generating production and a {args.small}-recipe sandbox ...")
        subprocess.run([sys.executable, args.gen, "--out", P, "--recipes", str(n), "--drift", "0.1", "--extra",
                        str(n // 20), "--env-id", "2200000002", "--seed", "1"], check=True, stdout=subprocess.DEVNULL)
        subprocess.run([sys.executable, args.gen, "--out", small, "--recipes", str(args.small)], check=True,
                       stdout=subprocess.DEVNULL)
        with open(marker, "w") as f:
            json.dump(want, f)
    first = binaries[0][1]
    shutil.rmtree(os.path.join(P, ".rlcm"), ignore_errors=True)
    subprocess.run([first, "init", P, "--name", "production", "--id", "2200000002"], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    manifest = os.path.join(d, "all.yaml")
    with open(manifest, "w") as f:
        f.write('name: everything\nfolders: [""]\n')
    if os.path.exists(pkg):
        os.unlink(pkg)
    subprocess.run([first, "export", "--env", small, "--manifest", manifest, "-o", pkg], env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    entries = int(sh(f"unzip -Z1 {sh_quote(pkg)} | wc -l", check=False).strip() or 0)
    # A package that changes no asset production recipes share: the sandbox's recipes without
    # its connections, connectors, properties and lookup tables (a directory package; its
    # references resolve in production).
    recipes_only = os.path.join(d, "recipes-only")
    shutil.rmtree(recipes_only, ignore_errors=True)
    shutil.copytree(small, recipes_only)
    for dirpath, _, files in os.walk(recipes_only):
        for f in files:
            if f.endswith((".connection.json", ".properties.json", ".lookup_table.json")) or ".custom_adapter." in f:
                os.unlink(os.path.join(dirpath, f))
    warm(P)

    def fresh_copy(_b=None):
        shutil.rmtree(PC, ignore_errors=True)
        subprocess.run(["cp", "-a", P, PC], check=True)
        subprocess.run(["sync"], check=False)

    # A production as users have it: a fresh `cp -a` has no valid summary cache (it is bound to
    # the original's inodes), so the plain `import` row parses every file of production. Here
    # an untimed import and rollback (writers refresh the cache) make the copy's cache valid,
    # and leave the tree as it was.
    def warm_copy(b):
        fresh_copy()
        subprocess.run([b, "import", pkg, "--env", PC, "--force", "--restart-recipes"], env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        subprocess.run([b, "rollback", "--env", PC, "--force"], env=env, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        subprocess.run(["sync"], check=False)

    # Each binary reads its own copy of production: two builds whose production indexes differ
    # in format would otherwise rebuild each other's on every run.
    own = {}
    for name, _ in binaries:
        own[name] = f"{P}.{name}"
        shutil.rmtree(own[name], ignore_errors=True)
        subprocess.run(["cp", "-a", P, own[name]], check=True)
        # Initialised in place: a copy's summary cache is bound to the original's inodes
        # (ignored in the copy), and `plan` never writes one.
        shutil.rmtree(os.path.join(own[name], ".rlcm"), ignore_errors=True)
        subprocess.run([first, "init", own[name], "--name", "production", "--id", "2200000002"], env=env,
                       check=True, stdout=subprocess.DEVNULL)
    warm(P)
    by_bin = {b: own[name] for name, b in binaries}
    # The watcher (of the first binary, the one measured) runs on every copy for the `_watch`
    # rows: a binary without `rlcm watch` walks the tree as before.
    watchers = []

    def start_watchers(_b=None):
        if watchers:
            return
        # Each binary's own watcher on its own copy (two builds' watchers would rewrite each
        # other's index in different formats).
        for name, b in binaries:
            subprocess.run([b, "watch", "start", "--env", own[name]], env=env, check=False,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            watchers.append((b, own[name]))

    # The import rows with a watcher (last: they change the copy): before each run, the last
    # run's import is rolled back (untimed), and the watcher has refreshed its index after it.
    imported = set()

    def watched_import(b):
        start_watchers()
        c = by_bin[b]
        if c in imported:
            subprocess.run([b, "rollback", "--env", c, "--force"], env=env, check=True, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        end = time.monotonic() + 300
        while time.monotonic() < end:
            r = subprocess.run([b, "watch", "status", "--env", c, "--format", "json"], env=env,
                               capture_output=True)
            try:
                if json.loads(r.stdout or b"{}").get("index_vouched"):
                    break
            except ValueError:
                pass
            time.sleep(0.25)
        else:
            log(f"bench: the watcher of {c} did not refresh its index within 300 s")
        subprocess.run(["sync"], check=False)
        imported.add(c)

    def impact_argv(b):
        return [b, "impact", "Service 0 API", "--env", by_bin[b], "--format", "json"]

    def check_argv(b):
        return [b, "connector", "check", "Service 0 API", "tree", "--env", by_bin[b], "--format", "json"]

    rows = {
        "plan": (lambda b: [b, "plan", pkg, "--env", by_bin[b], "--format", "json"], None, (0, 3)),
        "import": (lambda b: [b, "import", pkg, "--env", PC, "--force", "--restart-recipes"], fresh_copy, (0,)),
        "import_warm": (lambda b: [b, "import", pkg, "--env", PC, "--force", "--restart-recipes"], warm_copy, (0,)),
        "impact": (impact_argv, None, (0,)),
        "plan_recipes": (lambda b: [b, "plan", recipes_only, "--env", by_bin[b], "--format", "json"], None, (0, 3)),
        "check": (check_argv, None, (0, 1)),
        # The watcher rows last: once started, the watchers run to the end.
        "plan_watch": (lambda b: [b, "plan", pkg, "--env", by_bin[b], "--format", "json"], start_watchers, (0, 3)),
        "plan_recipes_watch": (lambda b: [b, "plan", recipes_only, "--env", by_bin[b], "--format", "json"],
                               start_watchers, (0, 3)),
        "impact_watch": (impact_argv, start_watchers, (0,)),
        "check_watch": (check_argv, start_watchers, (0, 1)),
        "import_watch": (lambda b: [b, "import", pkg, "--env", by_bin[b], "--force", "--restart-recipes"],
                         watched_import, (0,)),
        "import_recipes_watch": (lambda b: [b, "import", recipes_only, "--env", by_bin[b], "--force",
                                            "--restart-recipes"], watched_import, (0,)),
    }
    # A watcher older than this harness's binary may hold the environment's read lock (the
    # build before 923d970 did: an import waits for it for ever): the import rows with a
    # watcher run with the measured binary only.
    measured_only = {"import_watch", "import_recipes_watch"}
    out = {name: {} for name, _ in binaries}
    outputs = {}
    for key, (argv_of, setup, ok) in rows.items():
        if args.only and key not in args.only:
            continue
        row_bins = binaries[:1] if key in measured_only else binaries
        samples = {name: [] for name, _ in row_bins}
        for name, b in row_bins:
            # one untimed warm-up run each (builds the production index where there is one)
            if setup:
                setup(b)
            r = subprocess.run(argv_of(b), env=env, capture_output=True)
            outputs[(key, name)] = r.stdout.replace(by_bin.get(b, P).encode(), P.encode()) if key != "import" else b""
        for i in range(args.runs):
            for name, b in row_bins:
                if setup:
                    setup(b)
                cpu_idle(0.3)
                r = timer.run(argv_of(b), env=env, timeout=args.timeout)
                samples[name].append(r)
                log(f"bench: everyday n={n} {key:7s} {name:8s} run {i + 1}/{args.runs}: wall {r['wall']:.3f}s "
                    f"cpu {r['cpu']:.2f}s rss {r['maxrss_kib'] / 1024:.0f} MiB rc {r['rc']}")
                if r["rc"] not in ok:
                    log(f"bench:   stderr: {r['stderr_tail'].strip()[-600:]}")
        for name, _ in row_bins:
            ss = samples[name]
            out[name][key] = {
                "wall": statistics.median(x["wall"] for x in ss),
                "cpu": statistics.median(x["cpu"] for x in ss),
                "maxrss_mib": max(x["maxrss_kib"] for x in ss) / 1024,
                "rc": sorted({str(x["rc"]) for x in ss}),
                "runs": len(ss),
            }
    for b, w in watchers:
        subprocess.run([b, "watch", "stop", "--env", w], env=env, check=False, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
    shutil.rmtree(PC, ignore_errors=True)
    for name, _ in binaries:
        shutil.rmtree(own[name], ignore_errors=True)
    same = {key: len({outputs[(key, name)] for name, _ in binaries}) == 1
            for key in rows if all((key, name) in outputs for name, _ in binaries)
            and not key.startswith("import")}
    files, size = tree_stats(P)
    return {"n": n, "rows": out, "same_output": same, "package_entries": entries, "production_files": files,
            "production_mib": round(size / 2**20, 1)}


def render_everyday(results, binaries, info, cmdline):
    names = [name for name, _ in binaries]
    lines = [f"Machine: {info['nproc']} cores, {info['cpu']}, kernel {info['kernel']}; {info['date']}; "
             f"timer {info['timer']}.", "", f"Command: `{cmdline}`", ""]
    for name, b in binaries:
        lines.append(f"- `{name}`: {b}")
    lines.append("")
    for r in results:
        lines.append(f"Production {fmt_size(r['n'])} recipes ({r['production_files']} files, "
                     f"{r['production_mib']} MiB); package {r['package_entries']} entries. Median of "
                     f"{next(iter(r['rows'][names[0]].values()), {}).get('runs', '?')} runs, warm page cache.")
        lines.append("")
        head = "| command | " + " | ".join(f"{n} wall | {n} CPU | {n} peak RSS" for n in names) + " | same JSON |"
        lines.append(head)
        lines.append("|" + "---|" * (1 + 3 * len(names) + 1))
        for key, label in EVERYDAY_ROWS:
            if key not in r["rows"][names[0]]:
                continue
            cells = []
            for n in names:
                x = r["rows"][n].get(key)
                if x is None:
                    cells += ["-", "-", "-"]
                    continue
                rc = "" if x["rc"] in (["0"], ["3"]) else f" (rc {','.join(x['rc'])})"
                cells += [f"{x['wall'] * 1000:.0f} ms{rc}", f"{x['cpu']:.2f} s", f"{x['maxrss_mib']:.0f} MiB"]
            same = r["same_output"].get(key)
            lines.append(f"| {label} | " + " | ".join(cells) + f" | {'-' if same is None else ('yes' if same else 'NO')} |")
        lines.append("")
    return "\n".join(lines) + "\n"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="1000,10000", help="recipe counts, comma-separated (1k, 10k, 100k ok)")
    p.add_argument("--runs", type=int, default=3, help="runs per command below --large (median reported)")
    p.add_argument("--runs-large", type=int, default=1, help="runs per command from --large recipes up")
    p.add_argument("--large", type=parse_size, default=100000, help="size from which --runs-large applies")
    p.add_argument("--quick", action="store_true", help="smoke test: 1k recipes, 1 run (writes --out only if given)")
    p.add_argument("--rlcm", help="rlcm binary (default: cargo build --release, honouring CARGO_TARGET_DIR)")
    p.add_argument("--gen", default=os.path.join(REPO, "..", "shared", "tools", "gen_env.py"),
                   help="gen_env.py (default: ../shared/tools/gen_env.py from the repository)")
    p.add_argument("--gen-jobs", type=int, default=2, choices=(1, 2),
                   help="generate sandbox and production in parallel (2, default) or one after the other")
    p.add_argument("--workdir", default=os.path.join(tempfile.gettempdir(), "rlcm-bench"),
                   help="where the generated environments go (default /tmp/rlcm-bench)")
    p.add_argument("--keep", action="store_true", help="keep the generated environments")
    p.add_argument("--reuse", action="store_true",
                   help="reuse environments generated with the same arguments by an earlier --reuse/--keep run "
                        "(implies --keep)")
    p.add_argument("--only", help="comma-separated subset of rows: " + ",".join(k for k, _ in ROWS))
    p.add_argument("--cold-summary-cache", action="store_true",
                   help="remove the environments' summary cache (.rlcm/cache/, written by init and by writing "
                        "commands) before every timed rlcm run: every file is read and parsed again")
    p.add_argument("--rayon-threads", type=int, default=0, help="set RAYON_NUM_THREADS for rlcm")
    p.add_argument("--timer", choices=("auto", "time", "wait4"), default="auto",
                   help="GNU /usr/bin/time (default when installed) or os.wait4 rusage")
    p.add_argument("--timeout", type=float, default=3600, help="per run, seconds")
    p.add_argument("--slow-cap", type=float, default=120,
                   help="a command whose first run takes longer than this many seconds runs once")
    p.add_argument("--wait-idle", type=float, default=None,
                   help="before each timed run wait up to this many seconds for the machine to be idle "
                        "(other processes skew wall time); 0: don't wait (default 15, 0 with --quick)")
    p.add_argument("--idle-threshold", type=float, default=0.8,
                   help="idle fraction of all CPUs counted as idle for --wait-idle (default 0.8)")
    p.add_argument("--out", help="Markdown file to write the results into (replaces the results section)")
    p.add_argument("--json", help="also write the raw samples as JSON")
    p.add_argument("--label", help="what the binary is, for the report (e.g. `commit abc1234, clean snapshot`)")
    p.add_argument("--everyday", action="store_true",
                   help="the everyday rows (small package plan/import, impact, connector check) instead")
    p.add_argument("--baseline", help="with --everyday: another rlcm binary measured in the same loop")
    p.add_argument("--small", type=int, default=500, help="with --everyday: recipes of the small package's sandbox")
    p.add_argument("--from-json", metavar="FILE",
                   help="run nothing: render the report (and --out) again from a --json file of an earlier run")
    args = p.parse_args()

    if args.from_json:
        with open(args.from_json) as f:
            doc = json.load(f)
        ra = argparse.Namespace(**doc["render_args"])
        body = render(doc["results"], doc["info"], ra, doc["cmdline"])
        body += f"\nTotal harness time: {doc['info']['total_seconds']} s (generation included).\n"
        print(body)
        if args.out:
            write_out(args.out, body)
            log(f"bench: results written to {args.out}")
        return 0
    if args.quick:
        args.sizes, args.runs, args.runs_large = "1000", 1, 1
    if args.wait_idle is None:
        args.wait_idle = 0 if args.quick else 15
    sizes = [parse_size(s) for s in args.sizes.split(",") if s.strip()]
    args.only = [s.strip() for s in args.only.split(",")] if args.only else None
    if args.only and not args.everyday:
        unknown = set(args.only) - {k for k, _ in ROWS}
        if unknown:
            p.error(f"--only: unknown rows {', '.join(sorted(unknown))}")
    args.gen = os.path.abspath(args.gen)
    if not os.path.exists(args.gen):
        p.error(f"--gen {args.gen}: not found")
    args.workdir = os.path.abspath(args.workdir)
    for tool in ("zip", "find", "xargs", "cp"):
        if not shutil.which(tool):
            sys.exit(f"bench: `{tool}` not found")

    os.makedirs(args.workdir, exist_ok=True)
    lock = open(os.path.join(args.workdir, ".bench.lock"), "w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        log(f"bench: another bench.py is using {args.workdir}; waiting for it (or use --workdir)")
        fcntl.flock(lock, fcntl.LOCK_EX)
    rlcm = build_rlcm(args)
    timer = Timer(args.timer)
    info = machine_info(rlcm)
    info["timer"] = timer.kind
    info["built_by_harness"] = not args.rlcm
    info["label"] = args.label
    log(f"bench: rlcm {rlcm}; commit {info['commit']}; timer {timer.kind}; workdir {args.workdir}")
    os.makedirs(args.workdir, exist_ok=True)

    if args.everyday:
        binaries = [("new", rlcm)] + ([("baseline", os.path.abspath(args.baseline))] if args.baseline else [])
        t0 = time.perf_counter()
        results = [everyday(args, timer, binaries, n) for n in sizes]
        cmdline = "python3 benches/bench.py " + " ".join(
            a if re.fullmatch(r"[\w./=,:+-]+", a) else sh_quote(a) for a in sys.argv[1:])
        body = render_everyday(results, binaries, info, cmdline)
        body += f"\nTotal harness time: {round(time.perf_counter() - t0, 1)} s (generation included).\n"
        print(body)
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"cmdline": cmdline, "info": info, "results": results}, f, indent=1)
        if not (args.keep or args.reuse):
            for n in sizes:
                shutil.rmtree(os.path.join(args.workdir, f"everyday-n{n}"), ignore_errors=True)
        return 0

    t0 = time.perf_counter()
    results = []
    for n in sizes:
        b = SizeBench(args, timer, rlcm, n)
        try:
            results.append(b.run())
        finally:
            b.cleanup()
    info["total_seconds"] = round(time.perf_counter() - t0, 1)

    cmdline = "python3 benches/bench.py " + " ".join(
        a if re.fullmatch(r"[\w./=,:+-]+", a) else sh_quote(a) for a in sys.argv[1:])
    body = render(results, info, args, cmdline)
    body += f"\nTotal harness time: {info['total_seconds']} s (generation included).\n"
    print(body)
    if args.out:
        write_out(args.out, body)
        log(f"bench: results written to {args.out}")
    if args.json:
        with open(args.json, "w") as f:
            render_args = {k: getattr(args, k) for k in ("rayon_threads", "slow_cap", "idle_threshold", "wait_idle",
                                                         "cold_summary_cache")}
            json.dump({"cmdline": cmdline, "render_args": render_args, "info": info, "results": results}, f,
                      indent=1)
    failed = [(r["n"], k) for r in results for k, row in r["rows"].items()
              if any(rc not in ("0",) and not (k == "plan" and rc == "3") for rc in row["rc"])]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
