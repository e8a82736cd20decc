#!/usr/bin/env bash
# Push survival: the issue's acceptance run (walk at 0.5 m/s for 30 s under `--push random:<dv>:3`, one push of
# dv in a random direction every 3 s) over many seeds, with the first push each fallen run did not recover from.
# A single seed says little (a run is chaotic: a 1e-4 change flips it); the count over 20-40 seeds is the score,
# and its noise is about +-3 of 40.
#
# usage: scripts/push_survival.sh [-r ROBOT] [-p PROFILE_YAML] [-s "SEEDS"] [-k PUSH_DV] [-g] [-b BUILD_DIR]
#   -r  robot (builtin, g1, h1, tienkung or a path), default g1;  -p  a profile YAML for every run
#   -s  seeds, default "1 2 ... 10";  -k  push size [m/s], default 0.6;  -g  control on ground truth
# Prints one line per fallen seed (the push's time and direction in the world frame, x forward) and the count.
# Runs two simulations at a time.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD="$ROOT/build"
ROBOT=g1
PROFILE=""
SEEDS="1 2 3 4 5 6 7 8 9 10"
PUSH=0.6
TRUTH=""
while getopts "r:p:s:k:gb:" opt; do
  case $opt in
    r) ROBOT="$OPTARG" ;;
    p) PROFILE="$OPTARG" ;;
    s) SEEDS="$OPTARG" ;;
    k) PUSH="$OPTARG" ;;
    g) TRUTH="--ground-truth" ;;
    b) BUILD="$OPTARG" ;;
    *) sed -n '2,11p' "$0"; exit 2 ;;
  esac
done
HUMANOID="$BUILD/apps/humanoid/humanoid"
[ -x "$HUMANOID" ] || { echo "error: $HUMANOID not built (scripts/quickstart.sh build)" >&2; exit 2; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
one() {  # seed -> "ok" or "fell <first unrecovered push>" in $TMP/<seed>
  local seed=$1 out rc=0
  local args=(run --robot "$ROBOT" --task walk --cmd 0.5,0,0 --duration 30 --push "random:$PUSH:3" --seed "$seed")
  [ -n "$PROFILE" ] && args+=(--profile "$PROFILE")
  [ -n "$TRUTH" ] && args+=("$TRUTH")
  out=$("$HUMANOID" "${args[@]}" 2>&1) || rc=$?
  if [ "$rc" -ge 2 ]; then echo "skipped: $(tail -n 1 <<<"$out")" > "$TMP/$seed"; return; fi
  if grep -q "FELL" <<<"$out"; then
    echo "fell: $(grep -m 1 "NOT recovered" <<<"$out" | sed -E 's/^ *push //; s/: NOT recovered//')" > "$TMP/$seed"
  else
    echo "ok" > "$TMP/$seed"
  fi
}
i=0
for seed in $SEEDS; do
  one "$seed" &
  i=$((i + 1))
  if (( i % 2 == 0 )); then wait; fi
done
wait
n=0 ok=0
for seed in $SEEDS; do
  r=$(cat "$TMP/$seed")
  case $r in
    ok) ok=$((ok + 1)); n=$((n + 1)) ;;
    skipped*) echo "seed $seed $r" ;;
    *) echo "seed $seed $r"; n=$((n + 1)) ;;
  esac
done
echo "$ROBOT random:$PUSH:3 at 0.5 m/s for 30 s: survived $ok of $n seeds"
