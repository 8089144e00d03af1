#!/usr/bin/env python3
"""Issue #18 part 3: interleaved A/B of whole-workspace commands on a shared machine.

hyperfine runs all of OLD's runs, then all of NEW's: on a machine whose load comes and goes
(another engineer's benchmarks) the two halves see different loads. This alternates the two
binaries run by run (OLD NEW, NEW OLD, ...) and reports medians of wall and CPU (user + system,
from the children's rusage). It uses the trees benches/ab_load.sh prepared in
/tmp/rlcm-ab-load (each side initialised by its own binary).

    python3 benches/ab_load_alt.py OLD NEW RUNS
"""
import subprocess, time, resource, statistics, sys, os
W='/tmp/rlcm-ab-load'; PKG='/tmp/b18/small.zip'
OLD, NEW, N = sys.argv[1], sys.argv[2], int(sys.argv[3])
env = dict(os.environ, RLCM_NOW='2026-01-01T00:00:00Z', RLCM_USER='ab', NO_COLOR='1')
def args(row, side):
    verb, tree = row.split()
    return {'plan': ['plan', PKG, '--env', f'{W}/{tree}-{side}', '--format', 'json'],
            'inspect': ['inspect', f'{W}/{tree}-{side}', '--format', 'json'],
            'export': ['export', '--env', f'{W}/{tree}-{side}', '--manifest', f'{W}/all.yaml', '-o', f'{W}/out-{side}.zip', '--format', 'json']}[verb]
def run(cmd):
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN); t0 = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    t = time.perf_counter() - t0; r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return t, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
print(f"| command | wall old (median) | wall new (median) | new/old | CPU old (median) | CPU new (median) | new/old |")
print("|---|---:|---:|---:|---:|---:|---:|")
for row in ['plan p10k', 'inspect p10k', 'export s10k', 'plan p100k', 'inspect p100k']:
    res = {'old': [], 'new': []}
    for side, b in [('old', OLD), ('new', NEW)]: run([b] + args(row, side))  # warm-up
    for i in range(N):
        order = [('old', OLD), ('new', NEW)] if i % 2 == 0 else [('new', NEW), ('old', OLD)]
        for side, b in order: res[side].append(run([b] + args(row, side)))
    wo = statistics.median(t for t, _ in res['old']); wn = statistics.median(t for t, _ in res['new'])
    co = statistics.median(c for _, c in res['old']); cn = statistics.median(c for _, c in res['new'])
    print(f"| {row} | {wo:.3f} s | {wn:.3f} s | {wn/wo:.3f} | {co:.3f} s | {cn:.3f} s | {cn/co:.3f} |", flush=True)
