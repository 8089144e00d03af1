#!/usr/bin/env bash
# Issue #18 part 3: A/B of two rlcm builds on whole-workspace commands, when the two builds do not
# share a summary-cache format (ab.sh initialises both trees with OLD, so NEW would find no cache
# it can read and load every file). Each binary gets its own copies of the trees, initialised by
# itself; the commands then run side by side in one hyperfine invocation.
#
#   benches/ab_load.sh OLD NEW OUT.md [RUNS]      # RUNS default 5
#
# Inputs (env): AB_PKG, the package to plan (default /tmp/b18/small.zip); AB_TREES, a
# space-separated list of NAME=DIR production trees to copy (default "p10k=/tmp/b18/p10k
# p100k=/tmp/b18/p100k"); AB_SANDBOX, a sandbox to export (default: generated, 10,000 recipes);
# AB_WORKDIR (default /tmp/rlcm-ab-load), where the copies live (reused when present).
# OUT.md gets, per command: wall (mean ± σ, hyperfine), CPU (user + system, hyperfine's mean),
# peak RSS (GNU time, one run each), and instructions (callgrind, RAYON_NUM_THREADS=1, one run;
# skipped with AB_INSTR=0; AB_WALL=0 skips hyperfine and RSS, so the counts can be taken while
# the machine is busy and the times when it is quiet).
set -euo pipefail
OLD=$(realpath "$1"); NEW=$(realpath "$2"); OUT=$3; RUNS=${4:-5}
REPO=$(cd "$(dirname "$0")/.." && pwd); GEN=$REPO/../shared/tools/gen_env.py
W=${AB_WORKDIR:-/tmp/rlcm-ab-load}; PKG=${AB_PKG:-/tmp/b18/small.zip}
TREES=${AB_TREES:-"p10k=/tmp/b18/p10k p100k=/tmp/b18/p100k"}
export RLCM_NOW=2026-01-01T00:00:00Z RLCM_USER=ab NO_COLOR=1
mkdir -p "$W"
if [ -z "${AB_SANDBOX:-}" ]; then
  AB_SANDBOX=$W/s10k-src
  [ -d "$AB_SANDBOX" ] || python3 "$GEN" --out "$AB_SANDBOX" --recipes 10000 --seed 1 > /dev/null
fi
printf 'folders:\n  - ""\n' > "$W/all.yaml"
# copy NAME SRC ID: one copy per binary, .rlcm/ rebuilt by that binary's init.
copy() {
  for side in old new; do
    local d=$W/$1-$side bin=$OLD
    [ $side = new ] && bin=$NEW
    if [ ! -f "$d/.rlcm/env.json" ]; then
      rm -rf "$d"; cp -a "$2" "$d"; rm -rf "$d/.rlcm"
      "$bin" init "$d" --name "$1" --id "$3" > /dev/null
    fi
  done
}
ROWS=()
for t in $TREES; do copy "${t%%=*}" "${t#*=}" 2200000002; ROWS+=("plan ${t%%=*}" "inspect ${t%%=*}"); done
copy s10k "$AB_SANDBOX" 2200000001; ROWS+=("export s10k")
# Warm the page cache.
find "$W" -type f -print0 | xargs -0 cat > /dev/null
args() { # ROW SIDE -> the command line of that row for that side
  local verb=${1%% *} tree=${1#* }
  case $verb in
    plan) echo "plan $PKG --env $W/$tree-$2 --format json" ;;
    inspect) echo "inspect $W/$tree-$2 --format json" ;;
    export) echo "export --env $W/$tree-$2 --manifest $W/all.yaml -o $W/out-$2.zip --format json" ;;
  esac
}
{
  echo "# Workspace load A/B: \`$OLD\` (old) vs \`$NEW\` (new)"
  echo
  echo "- Command: \`benches/ab_load.sh $*\`; $(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) CPUs, $(free -g | awk '/Mem:/{print $2}') GiB; $(uname -sr); $(hyperfine --version)"
  echo "- Load average before: $(cut -d' ' -f1-3 /proc/loadavg); runs per command: $RUNS after 1 warm-up, OLD then NEW in one hyperfine invocation (not interleaved: compare with the load average)"
  echo
  echo "| command | wall old | wall new | new/old | CPU old | CPU new | RSS old | RSS new | instr old | instr new | new/old |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
} > "$OUT"
for row in "${ROWS[@]}"; do
  a=$(args "$row" old); b=$(args "$row" new)
  r_old=0; r_new=0; i_old=0; i_new=0
  if [ "${AB_WALL:-1}" != 0 ]; then
    hyperfine -N -i --warmup 1 --runs "$RUNS" --export-json "$W/h.json" "$OLD $a" "$NEW $b" > /dev/null 2>&1
    rss() { /usr/bin/time -f %M "$@" 2>&1 > /dev/null | tail -n 1; }
    r_old=$(rss "$OLD" $a); r_new=$(rss "$NEW" $b)
  else
    echo '{"results": []}' > "$W/h.json"
  fi
  if [ "${AB_INSTR:-1}" != 0 ]; then
    instr() { RAYON_NUM_THREADS=1 valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 > /dev/null | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'; }
    i_old=$(instr "$OLD" $a); i_new=$(instr "$NEW" $b)
  fi
  python3 - "$W/h.json" "$row" "$r_old" "$r_new" "$i_old" "$i_new" >> "$OUT" <<'EOF'
import json, sys
h = json.load(open(sys.argv[1]))["results"]
row, r_old, r_new, i_old, i_new = sys.argv[2], *map(int, sys.argv[3:7])
w = [f"{r['mean']:.3f} ± {r['stddev']:.3f} s" for r in h] or ["-", "-"]
cpu = [f"{r['user'] + r['system']:.3f} s" for r in h] or ["-", "-"]
ratio = f"{h[1]['mean'] / h[0]['mean']:.3f}" if h else "-"
rss = (f"{r_old / 1024:.0f} MiB", f"{r_new / 1024:.0f} MiB") if r_old else ("-", "-")
ins = (f"{i_old / 1e9:.2f} G", f"{i_new / 1e9:.2f} G", f"{i_new / i_old:.3f}") if i_old else ("-", "-", "-")
print(f"| {row} | {w[0]} | {w[1]} | {ratio} | {cpu[0]} | {cpu[1]} | {rss[0]} | {rss[1]} | {ins[0]} | {ins[1]} | {ins[2]} |")
EOF
done
echo >> "$OUT"; echo "Load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$OUT"
cat "$OUT"
