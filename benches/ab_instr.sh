#!/usr/bin/env bash
# A/B of two rlcm builds by instructions executed (valgrind --tool=callgrind), which, unlike
# wall time, does not depend on what else the machine is doing: for refactors that must stay
# "within noise" on a busy machine (issue 12). Uses the trees benches/ab.sh generated.
#
#   benches/ab_instr.sh OLD_BIN NEW_BIN OUT.md [SIZE]      # SIZE default 1000
#
# Rows as in ab.sh; each command runs once per binary under callgrind (RAYON_NUM_THREADS=1, so
# the count does not depend on how threads were scheduled); OUT.md gets the instruction counts
# and NEW / OLD.
set -euo pipefail
OLD=$(realpath "$1"); NEW=$(realpath "$2"); OUT=$3; N=${4:-1000}
D=${AB_WORKDIR:-/tmp/rlcm-ab}/n$N
[ -f "$D/package.zip" ] || { echo "run benches/ab.sh first (no $D/package.zip)" >&2; exit 1; }
export RLCM_NOW=2026-01-01T00:00:00Z RLCM_USER=ab NO_COLOR=1 RAYON_NUM_THREADS=1
instr() { # BIN ARGS... -> instructions
  valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 > /dev/null \
    | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
{
  echo "# Instructions (callgrind), $N recipes: \`$OLD\` (old) vs \`$NEW\` (new)"
  echo
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'); $(valgrind --version); RAYON_NUM_THREADS=1"
  echo
  echo "| command | old | new | new / old |"
  echo "|---|---:|---:|---:|"
} > "$OUT"
row() {
  local name=$1 prepare=$2; shift 2
  local counts=()
  for B in "$OLD" "$NEW"; do
    sh -c "$prepare"
    counts+=("$(instr "$B" "$@")")
  done
  awk -v n="$name" -v a="${counts[0]}" -v b="${counts[1]}" \
    'BEGIN { printf "| %s | %.0f | %.0f | %.4f |\n", n, a, b, b / a }' >> "$OUT"
}
row "init (sandbox)" "rm -rf $D/sandbox/.rlcm" init "$D/sandbox" --name sandbox --id 2200000001
row "export (everything)" "rm -f $D/out.zip" export --env "$D/sandbox" --manifest "$D/all.yaml" -o "$D/out.zip"
row "plan --format json" "true" plan "$D/package.zip" --env "$D/production" --format json
row "import --force --restart-recipes" "rm -rf $D/copy && cp -a $D/production $D/copy" \
  import "$D/package.zip" --env "$D/copy" --force --restart-recipes --format json
row "impact" "true" impact "Service 0 API" --env "$D/production" --format json
row "connector check" "true" connector check "Service 0 API" latest --env "$D/production" --format json
row "inspect --format json" "true" inspect "$D/sandbox" --format json
cat "$OUT"
