#!/usr/bin/env bash
# Issue #12: every `--format json` output (and the imported tree) of one binary, for a byte-for-byte
# comparison with another build: `benches/json_identity.sh OLD /tmp/a; benches/json_identity.sh NEW /tmp/b; diff -r /tmp/a /tmp/b`.
# Needs the 1k pair in /tmp/cmp/gen (gen_env.py --recipes 1000 --seed 1, and --drift 0.1 --extra 50 --env-id 2200000002).
# Usage: run.sh BIN OUT — every --format json output of the main commands on testdata and a 1k pair.
BIN=$1; OUT=$2; T=$(cd "$(dirname "$0")/.." && pwd)/testdata; G=/tmp/cmp/gen
rm -rf "$OUT" /tmp/cmp/w; mkdir -p "$OUT" /tmp/cmp/w; W=/tmp/cmp/w
export RLCM_NOW=2026-01-01T00:00:00Z RLCM_USER=cmp NO_COLOR=1
run() { local name=$1; shift; "$BIN" "$@" > "$OUT/$name.json" 2> "$OUT/$name.err"; echo "exit $?" >> "$OUT/$name.json"; }
for set in td gen; do
  if [ $set = td ]; then S=$T/sandbox; P=$T/production; M=$T/orders-release.yaml; A="Acme CRM"; else S=$G/s; P=$G/p; M=""; A="Service 0 API"; fi
  cp -a "$S" "$W/$set-s"; cp -a "$P" "$W/$set-p"; rm -rf "$W/$set-s/.rlcm" "$W/$set-p/.rlcm"
  run $set-init-s init "$W/$set-s" --name sandbox --id 2200000001 --format json
  run $set-init-p init "$W/$set-p" --name prod --id 2200000002 --format json
  if [ -n "$M" ]; then SEL=(--manifest "$M"); else SEL=(--folder ""); fi
  run $set-inspect inspect "$W/$set-s" --format json
  run $set-inspect-all inspect "$W/$set-p" --all --format json
  run $set-graph graph "$W/$set-s" --format json
  run $set-check-s check --env "$W/$set-s" --format json
  run $set-check-p check --env "$W/$set-p" --format json
  run $set-export export --env "$W/$set-s" "${SEL[@]}" -o "$W/$set.zip" --format json
  run $set-verify verify "$W/$set.zip" --format json
  run $set-plan plan "$W/$set.zip" --env "$W/$set-p" --format json
  run $set-plan-force plan "$W/$set.zip" --env "$W/$set-p" --force --restart-recipes --format json
  run $set-impact impact "$A" --env "$W/$set-p" --format json
  run $set-diff diff "$W/$set-s" "$W/$set-p" --format json
  run $set-clist connector list --env "$W/$set-p" --format json
  run $set-cversions connector versions "$A" --env "$W/$set-p" --format json
  run $set-ccheck connector check "$A" latest --env "$W/$set-p" --format json
  run $set-import import "$W/$set.zip" --env "$W/$set-p" --force --restart-recipes --format json
  run $set-history history --env "$W/$set-p" --format json
  run $set-ccommit connector commit "$A" --note n --env "$W/$set-s" --format json
  run $set-check-after check --env "$W/$set-p" --format json
  (cd "$W/$set-p" && find . -type f ! -path './.rlcm/cache/*' ! -name '*.lock' ! -name lock -print0 | sort -z | xargs -0 sha1sum) > "$OUT/$set-tree.sha1"
  run $set-rollback rollback --env "$W/$set-p" --format json
  (cd "$W/$set-p" && find . -type f ! -path './.rlcm/cache/*' ! -name '*.lock' ! -name lock -print0 | sort -z | xargs -0 sha1sum) > "$OUT/$set-tree-rb.sha1"
done
sed -i "s#$OUT#OUT#g" "$OUT"/*.json "$OUT"/*.err 2>/dev/null
rm -rf "$W"
