#!/usr/bin/env bash
# A/B timing of two rlcm builds on the same generated trees, side by side in one run (hyperfine:
# each command's OLD and NEW runs alternate in one invocation, on the same page cache), for
# refactors that must stay "within noise" (issue 12). Needs hyperfine (`apt-get install -y
# hyperfine`) and ../shared/tools/gen_env.py.
#
#   benches/ab.sh OLD_BIN NEW_BIN OUT.md [SIZES] [RUNS]     # SIZES default "1000 10000", RUNS 5
#
# For each size N: a sandbox (gen_env --recipes N --seed 1) and a production (--drift 0.1
# --extra N/20 --env-id 2200000002 --seed 1) in $AB_WORKDIR (default /tmp/rlcm-ab/nN, reused
# when present), both initialised once by OLD. Rows: init of the sandbox (`.rlcm/` removed before
# each run), export of everything, plan of that package (exit 3 accepted), import into a fresh
# `cp -a` of production (copy in hyperfine's --prepare, not timed), impact and connector check of
# "Service 0 API", inspect. OUT.md gets hyperfine's Markdown table per row (mean ± σ, min, max,
# and NEW relative to OLD).
set -euo pipefail
OLD=$(realpath "$1"); NEW=$(realpath "$2"); OUT=$3; SIZES=${4:-"1000 10000"}; RUNS=${5:-5}
REPO=$(cd "$(dirname "$0")/.." && pwd); GEN=$REPO/../shared/tools/gen_env.py
WORK=${AB_WORKDIR:-/tmp/rlcm-ab}
export RLCM_NOW=2026-01-01T00:00:00Z RLCM_USER=ab NO_COLOR=1
{
  echo "# A/B: \`$OLD\` (old) vs \`$NEW\` (new)"
  echo
  echo "- Command: \`benches/ab.sh $* \`; $(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) CPUs, $(free -g | awk '/Mem:/{print $2}') GiB; $(uname -sr); $(hyperfine --version)"
  echo "- Runs per command: $RUNS after 1 warm-up, OLD and NEW in one hyperfine invocation"
  echo
} > "$OUT"
for N in $SIZES; do
  D=$WORK/n$N; mkdir -p "$D"
  if [ ! -d "$D/sandbox" ]; then
    python3 "$GEN" --out "$D/sandbox" --recipes "$N" --seed 1 > /dev/null
    python3 "$GEN" --out "$D/production" --recipes "$N" --seed 1 --drift 0.1 --extra $((N / 20)) \
      --env-id 2200000002 > /dev/null
  fi
  for t in sandbox production; do
    [ -f "$D/$t/.rlcm/env.json" ] || "$OLD" init "$D/$t" --name "$t" --id 2200000001 > /dev/null
  done
  printf 'folders:\n  - ""\n' > "$D/all.yaml"
  "$OLD" export --env "$D/sandbox" --manifest "$D/all.yaml" -o "$D/package.zip" > /dev/null
  find "$D/sandbox" "$D/production" -type f -print0 | xargs -0 cat > /dev/null
  row() {
    local name=$1 prepare=$2 cmd=$3
    echo "## $N recipes: $name" >> "$OUT"; echo >> "$OUT"
    hyperfine -N --warmup 1 --runs "$RUNS" -i --prepare "$prepare" \
      -n old "${cmd//BIN/$OLD}" -n new "${cmd//BIN/$NEW}" --export-markdown "$D/row.md" > /dev/null
    cat "$D/row.md" >> "$OUT"; echo >> "$OUT"
  }
  row "init (sandbox)" "rm -rf $D/sandbox/.rlcm" "BIN init $D/sandbox --name sandbox --id 2200000001"
  row "export (everything)" "rm -f $D/out.zip" "BIN export --env $D/sandbox --manifest $D/all.yaml -o $D/out.zip"
  row "plan --format json" "true" "BIN plan $D/package.zip --env $D/production --format json"
  row "import --force --restart-recipes" "sh -c 'rm -rf $D/copy && cp -a $D/production $D/copy'" \
    "BIN import $D/package.zip --env $D/copy --force --restart-recipes --format json"
  row "impact" "true" "BIN impact 'Service 0 API' --env $D/production --format json"
  row "connector check" "true" "BIN connector check 'Service 0 API' latest --env $D/production --format json"
  row "inspect --format json" "true" "BIN inspect $D/sandbox --format json"
done
echo "wrote $OUT"
