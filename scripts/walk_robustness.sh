#!/usr/bin/env bash
# Walking robustness score: how often the model-based walking controller falls over a matrix of robots and
# commands, each run under random base pushes with several seeds. Single deterministic runs are a poor guide
# when tuning walking (a 1e-4 change can flip one run); this counts falls over many perturbed runs instead.
#
# usage: scripts/walk_robustness.sh [-p PROFILE_YAML] [-s "SEEDS"] [-d DURATION] [-k PUSH_DV] [-b BUILD_DIR]
#   -p  a profile YAML passed to every run (e.g. a `walking:` section to try); default: none
#   -s  seeds, default "1 2 3 4";  -d  seconds per run, default 10;  -k  push size [m/s], default 0.1
# Prints one line per scenario ("robot cmd fell n/N") and the total. Scenarios whose robot is not under
# ../shared/robots are skipped. Runs two simulations at a time.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD="$ROOT/build"
PROFILE=""
SEEDS="1 2 3 4"
DURATION=10
PUSH=0.1
while getopts "p:s:d:k:b:" opt; do
  case $opt in
    p) PROFILE="$OPTARG" ;;
    s) SEEDS="$OPTARG" ;;
    d) DURATION="$OPTARG" ;;
    k) PUSH="$OPTARG" ;;
    b) BUILD="$OPTARG" ;;
    *) sed -n '2,10p' "$0"; exit 2 ;;
  esac
done
HUMANOID="$BUILD/apps/humanoid/humanoid"
[ -x "$HUMANOID" ] || { echo "error: $HUMANOID not built (scripts/quickstart.sh build)" >&2; exit 2; }
SCENARIOS=(
  "builtin 0.5,0,0" "builtin 0,0.2,0" "builtin -0.3,0,0" "builtin 0,0,0.5"
  "g1 0.3,0,0" "g1 0.5,0,0" "g1 -0.3,0,0" "g1 0,0.2,0" "g1 0,-0.2,0" "g1 0,0,0.5"
  "h1 0.3,0,0" "tienkung 0.3,0,0"
)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
score() {  # robot cmd -> one line
  local robot=$1 cmd=$2 n=0 fell=0
  for seed in $SEEDS; do
    local args=(run --robot "$robot" --task walk --cmd "$cmd" --duration "$DURATION" --push "random:$PUSH:2.5" --seed "$seed")
    [ -n "$PROFILE" ] && args+=(--profile "$PROFILE")
    local out rc=0
    out=$("$HUMANOID" "${args[@]}" 2>&1) || rc=$?
    if [ "$rc" -ge 2 ]; then  # 1 is a fall; 2 and above: the run could not start (e.g. robot not found)
      echo "$robot $cmd skipped: $(echo "$out" | tail -n 1)"
      return
    fi
    n=$((n + 1))
    if grep -q "FELL" <<<"$out"; then fell=$((fell + 1)); fi
  done
  echo "$robot $cmd fell $fell/$n"
}
i=0
for s in "${SCENARIOS[@]}"; do
  # shellcheck disable=SC2086
  score $s > "$TMP/$i" &
  i=$((i + 1))
  if (( i % 2 == 0 )); then wait; fi
done
wait
cat "$TMP"/* | sort
cat "$TMP"/* | awk '$3 == "fell" {split($4, a, "/"); f += a[1]; n += a[2]} END {printf "total: fell %d of %d runs\n", f, n}'
