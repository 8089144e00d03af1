#!/usr/bin/env python3
"""Remote pull benchmark (issue #18, part 4): `rlcm pull` of a generated workspace served by
`workato-emulator` on loopback (rate limits off on both sides), side by side with the same
export flow done by curl and unzip, in the same run.

  python3 benches/remote_pull.py --recipes 10000 --runs 3 --out BENCHMARKS.md
  python3 benches/remote_pull.py --quick          # 1k recipes, 1 run, prints the table

Rows (each the median of --runs runs, wall time):

  curl+unzip (download)   GET /api/packages/ID/download of an already exported package (curl -L,
                          the 302 followed to the download origin) and `unzip -q` into a fresh
                          directory: moving and unpacking the bytes, nothing else.
  curl+unzip (flow)       what `wk pull` or the platform CLI do, with curl: users/me, POST
                          export_manifests (folder_id, auto_generate_assets), POST
                          packages/export, GET packages/ID polled on rlcm's schedule (0.5 s,
                          then x1.5), the download, unzip. The emulator's export (rlcm's own
                          export of the tree) is paid here as in rlcm pull.
  rlcm pull -o PKG.zip    the same flow, plus rlcm's defensive read of every entry.
  rlcm pull -o DIR        the mirror: also the recipes and custom connectors lists, `rlcm init`
                          of the package into a new environment and the atomic swap.
  rlcm plan --remote      a pull into the (emptied) cached mirror, then the plan of the pulled
                          package against it: what planning against a live workspace costs.

With `--baseline-dir DIR` a second build (DIR/release/rlcm and DIR/release/workato-emulator, its
own emulator on the same tree) is measured in the same runs, alternately, and the table gets its
columns. Every tree a row makes goes into a new directory and nothing is deleted until all runs
are done: on an ext4 file system without a journal (as on the machines here) creating files
within a minute or so of deleting thousands costs several times more (the inode allocator
skips recently freed inodes, `recently_deleted` in the kernel's profile), which would charge
one row for another's clean-up. Disk: about 160 MB per tree at 10k, ten trees per run and build.

The target of issue #18 is `rlcm pull` within 1.5x of curl+unzip of the same package (the flow
row: both sides wait for the same export). Python 3.11 standard library only; needs curl, unzip
and ../shared/tools/gen_env.py.
"""
import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
START = "<!-- bench:remote-pull:start -->"
END = "<!-- bench:remote-pull:end -->"
TOKEN = "bench-token-not-a-secret-0000"


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def run(argv, env=None, cwd=None):
    t = time.perf_counter()
    subprocess.run(argv, check=True, env=env, cwd=cwd, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter() - t


def curl_json(url, method="GET", body=None):
    argv = ["curl", "-sS", "--fail", "-X", method, "-H", f"Authorization: Bearer {TOKEN}",
            "-H", "Accept: application/json"]
    if body is not None:
        argv += ["-H", "Content-Type: application/json", "--data", json.dumps(body)]
    out = subprocess.run(argv + [url], check=True, capture_output=True).stdout
    return json.loads(out)


def curl_download(url, out):
    # -L follows the 302 to the download origin; curl drops the Authorization header there.
    subprocess.run(["curl", "-sS", "--fail", "-L", "-o", out, "-H",
                    f"Authorization: Bearer {TOKEN}", url], check=True)


def unzip(zip_path, into):
    subprocess.run(["unzip", "-q", zip_path, "-d", into], check=True)


def curl_flow(api, root_folder, work, tag):
    t = time.perf_counter()
    curl_json(f"{api}/api/users/me")
    m = curl_json(f"{api}/api/export_manifests", "POST",
                  {"export_manifest": {"name": "bench", "folder_id": root_folder,
                                       "auto_generate_assets": True}})
    mid = (m.get("result") or m)["id"]
    p = curl_json(f"{api}/api/packages/export/{mid}", "POST", {})
    wait = 0.5
    while p.get("status") not in ("completed", "failed"):
        time.sleep(wait)
        wait = min(wait * 1.5, 15)
        p = curl_json(f"{api}/api/packages/{p['id']}")
    assert p["status"] == "completed", p
    zip_path = os.path.join(work, f"flow-{tag}.zip")
    curl_download(f"{api}/api/packages/{p['id']}/download", zip_path)
    unzip(zip_path, os.path.join(work, f"flow-{tag}"))
    return time.perf_counter() - t, p["id"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--recipes", type=int, default=10000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="1k recipes, 1 run")
    ap.add_argument("--target-dir", default=os.environ.get("CARGO_TARGET_DIR", os.path.join(REPO, "target")))
    ap.add_argument("--gen", default=os.path.join(REPO, "..", "shared", "tools", "gen_env.py"))
    ap.add_argument("--workdir", default=os.path.join(tempfile.gettempdir(), "rlcm-bench-remote"))
    ap.add_argument("--out", help="Markdown file whose remote-pull section is replaced")
    ap.add_argument("--baseline-dir", help="a second target dir (release/rlcm, release/workato-emulator) "
                    "measured in the same runs, alternately, as `baseline`")
    ap.add_argument("--documented", action="store_true",
                    help="also one `rlcm pull -o DIR` with the client pacing to the documented limits")
    args = ap.parse_args()
    if args.quick:
        args.recipes, args.runs = 1000, 1
    rlcm = os.path.join(args.target_dir, "release", "rlcm")
    emulator = os.path.join(args.target_dir, "release", "workato-emulator")
    for b in (rlcm, emulator):
        if not os.path.isfile(b):
            sys.exit(f"{b} is missing: cargo build --release --workspace")
    work = os.path.join(args.workdir, f"n{args.recipes}")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    prod = os.path.join(work, "prod")
    log(f"generating {args.recipes} recipes")
    subprocess.run([sys.executable, args.gen, "--out", prod, "--recipes", str(args.recipes),
                    "--env-id", "2200000002"], check=True, stdout=subprocess.DEVNULL)
    subprocess.run([rlcm, "init", prod, "--id", "2200000002"], check=True, stdout=subprocess.DEVNULL)
    files = sum(len(f) for _, _, f in os.walk(prod))
    size = sum(os.path.getsize(os.path.join(d, x)) for d, _, f in os.walk(prod) for x in f)
    builds = [("new", rlcm, emulator)]
    if args.baseline_dir:
        builds.append(("baseline", os.path.join(args.baseline_dir, "release", "rlcm"),
                       os.path.join(args.baseline_dir, "release", "workato-emulator")))
    servers = {}
    all_samples = {}
    try:
        for name, cli, emu_bin in builds:
            emu = subprocess.Popen([emu_bin, "--env", prod, "--listen", "127.0.0.1:0", "--token", TOKEN,
                                    "--rate-limits", "off", "--poll-delay", "0"],
                                   stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            api = emu.stdout.readline().strip().removeprefix("listening on ")
            cfg = os.path.join(work, f"cfg-{name}")
            env = dict(os.environ, RLCM_CONFIG_DIR=cfg, RLCM_RATE_LIMITS="off", RLCM_TOKEN_BENCH=TOKEN,
                       RLCM_NO_PROGRESS="1")
            subprocess.run([cli, "remote", "add", "bench", "--url", api], check=True, env=env,
                           stdout=subprocess.DEVNULL)
            servers[name] = (emu, api, env, cli)
            all_samples[name] = {"download": [], "flow": [], "zip": [], "mirror": [], "plan": []}
        root = curl_json(f"{servers['new'][1]}/api/users/me")["root_folder_id"]
        pkg_size = 0
        # Nothing is deleted until every run is done: on this machine's ext4, creating files
        # right after thousands were deleted costs several times more (the inode allocator
        # skips recently freed inodes), which would charge one row for the clean-up of another.
        for i in range(args.runs):
            for name in servers:
                emu, api, env, rlcm_bin = servers[name]
                samples = all_samples[name]
                tag = f"{name}{i}"
                log(f"run {i + 1}/{args.runs} ({name})")
                t, pkg = curl_flow(api, root, work, tag)
                samples["flow"].append(t)
                zip_path = os.path.join(work, f"dl-{tag}.zip")
                t0 = time.perf_counter()
                curl_download(f"{api}/api/packages/{pkg}/download", zip_path)
                unzip(zip_path, os.path.join(work, f"dl-{tag}"))
                samples["download"].append(time.perf_counter() - t0)
                pkg_size = os.path.getsize(zip_path)
                out_zip = os.path.join(work, f"pulled-{tag}.zip")
                samples["zip"].append(run([rlcm_bin, "pull", "bench", "-o", out_zip], env=env))
                mirror = os.path.join(work, f"mirror-{tag}")
                samples["mirror"].append(run([rlcm_bin, "pull", "bench", "-o", mirror], env=env))
                # plan --remote: a pull into a cached mirror (a new cache folder each run), then
                # the plan of the workspace's own package against it (nothing to change).
                penv = dict(env, RLCM_CACHE_DIR=os.path.join(work, f"cache-{tag}"))
                samples["plan"].append(run([rlcm_bin, "plan", out_zip, "--remote", "bench", "--format", "json"],
                                           env=penv))
        if args.documented:
            log("one pull paced to the documented rate limits")
            emu, api, env, rlcm_bin = servers["new"]
            paced = dict(env, RLCM_RATE_LIMITS="documented")
            mirror = os.path.join(work, "mirror-paced")
            all_samples["new"]["paced"] = [run([rlcm_bin, "pull", "bench", "-o", mirror], env=paced)]
    finally:
        for emu, *_ in servers.values():
            emu.kill()
            emu.wait()
    med = {b: {k: statistics.median(v) for k, v in smp.items()} for b, smp in all_samples.items()}
    rows = [
        ("curl+unzip (download of the exported package)", "download"),
        ("curl+unzip (the whole export flow)", "flow"),
        ("rlcm pull -o PKG.zip", "zip"),
        ("rlcm pull -o DIR (mirror)", "mirror"),
        ("rlcm plan PKG --remote (pull into the cached mirror + plan)", "plan"),
    ]
    both = "baseline" in med
    lines = [
        START,
        f"Remote pull, {args.recipes} recipes ({files} files, {size / 1e6:.1f} MB tree, "
        f"{pkg_size / 1e6:.1f} MB package), `workato-emulator --rate-limits off --poll-delay 0` "
        f"on loopback, client `RLCM_RATE_LIMITS=off`; median of {args.runs} run(s); "
        f"{platform.node() or 'this machine'}, {os.cpu_count()} cores, "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, load average "
        f"{' '.join(f'{x:.1f}' for x in os.getloadavg())} at the end. Command: "
        f"`python3 benches/remote_pull.py --recipes {args.recipes} --runs {args.runs}"
        f"{' --baseline-dir ' + args.baseline_dir if both else ''}`"
        f"{' (new: ' + args.target_dir + ')' if both else ''}. Each row's samples: "
        + "; ".join(f"{b} {k} " + "/".join(f"{x:.2f}" for x in v)
                    for b, smp in all_samples.items() for k, v in smp.items() if k in ("flow", "mirror"))
        + ".",
        "",
    ]
    if both:
        lines += ["| what | new wall (s) | new x its curl flow | baseline wall (s) | baseline x its curl flow |",
                  "|---|---:|---:|---:|---:|"]
    else:
        lines += ["| what | wall (s) | x the export flow by curl |", "|---|---:|---:|"]
    if "paced" in med["new"]:
        rows.append(("rlcm pull -o DIR, client paced to the documented limits (1 run)", "paced"))
    for label, key in rows:
        m = med["new"]
        cells = f"| {label} | {m[key]:.2f} | {m[key] / m['flow']:.2f}x |"
        if both:
            b = med["baseline"]
            cells += f" {b[key]:.2f} | {b[key] / b['flow']:.2f}x |" if key in b else " - | - |"
        lines.append(cells)
    lines.append(END)
    table = "\n".join(lines) + "\n"
    print(table)
    if args.out:
        text = open(args.out, encoding="utf-8").read() if os.path.exists(args.out) else ""
        if START in text and END in text:
            a, rest = text.split(START, 1)
            _, b = rest.split(END, 1)
            text = a + table.rstrip("\n") + b
        else:
            text = text.rstrip("\n") + "\n\n## Remote pull\n\n" + table
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(text)
    if not args.quick:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
