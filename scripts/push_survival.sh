#!/usr/bin/env bash
# Push survival: the issue's acceptance run (walk at 0.5 m/s for 30 s under `--push random:<dv>:3`, one push of
# dv in a random direction every 3 s) over many seeds, with the first push each fallen run did not recover from.
# A single seed says little (a run is chaotic: a 1e-4 change flips it); the count over 20-40 seeds is the score,
# and its noise is about +-3 of 40.
#
# usage: scripts/push_survival.sh [-r ROBOT] [-p PROFILE_YAML] [-s "SEEDS"] [-k PUSH_DV] [-g] [-b BUILD_DIR]
#                                 [-d "DIRECTIONS_DEG"]
#   -r  robot (builtin, g1, h1, tienkung or a path), default g1;  -p  a profile YAML for every run
#   -s  seeds, default "1 2 ... 10";  -k  push size [m/s], default 0.6;  -g  control on ground truth
#   -d  instead: single pushes in these world directions [deg, 0 = forward], each at 8 instants of a stride
#       (3.0, 3.1, ... 3.7 s); prints per direction and instant "outcome/model": the outcome is X (fell) or the
#       steps it took (steps_to_recover; "-": not back within 3 s), the model the least steps that could catch
#       it in the walking controller's pendulum model (capturable_in_steps; "-": none within 3)
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
DIRS=""
while getopts "r:p:s:k:gb:d:" opt; do
  case $opt in
    r) ROBOT="$OPTARG" ;;
    p) PROFILE="$OPTARG" ;;
    s) SEEDS="$OPTARG" ;;
    k) PUSH="$OPTARG" ;;
    g) TRUTH="--ground-truth" ;;
    b) BUILD="$OPTARG" ;;
    d) DIRS="$OPTARG" ;;
    *) sed -n '2,15p' "$0"; exit 2 ;;
  esac
done
HUMANOID="$BUILD/apps/humanoid/humanoid"
[ -x "$HUMANOID" ] || { echo "error: $HUMANOID not built (scripts/quickstart.sh build)" >&2; exit 2; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
RUN_ARGS=(run --robot "$ROBOT" --task walk --cmd 0.5,0,0)
[ -n "$PROFILE" ] && RUN_ARGS+=(--profile "$PROFILE")
[ -n "$TRUTH" ] && RUN_ARGS+=("$TRUTH")
i=0
throttle() {  # after every second background run, wait for both
  i=$((i + 1))
  if (( i % 2 == 0 )); then wait; fi
}
one() {  # seed -> "ok" or "fell <first unrecovered push>" in $TMP/<seed>
  local seed=$1 out rc=0
  out=$("$HUMANOID" "${RUN_ARGS[@]}" --duration 30 --push "random:$PUSH:3" --seed "$seed" 2>&1) || rc=$?
  if [ "$rc" -ge 2 ]; then echo "skipped: $(tail -n 1 <<<"$out")" > "$TMP/$seed"; return; fi
  if grep -q "FELL" <<<"$out"; then
    echo "fell: $(grep -m 1 "NOT recovered" <<<"$out" | sed -E 's/^ *push //; s/: NOT recovered//')" > "$TMP/$seed"
  else
    echo "ok" > "$TMP/$seed"
  fi
}
single() {  # direction instant -> "X" (fell), a step count, or "-" in $TMP/d<direction>_<instant>
  local a=$1 t=$2 out v
  v=$(awk -v a="$a" -v k="$PUSH" 'BEGIN { r = a * atan2(0, -1) / 180; printf "%.4f,%.4f", k * cos(r), k * sin(r) }')
  out=$("$HUMANOID" "${RUN_ARGS[@]}" --duration "$(awk -v t="$t" 'BEGIN { print t + 3.5 }')" --push "t=$t,dv=$v" 2>&1) || true
  local model
  model=$(grep -oE "come to rest in [0-9]+ step" <<<"$out" | grep -oE "[0-9]+" || echo "-")
  if grep -q "FELL" <<<"$out"; then v=X
  else v=$(grep -oE "recovered in [0-9]+ step" <<<"$out" | grep -oE "[0-9]+" || echo "-"); fi
  echo "$v/$model" > "$TMP/d${a}_$t"
}
if [ -n "$DIRS" ]; then
  INSTANTS="3.0 3.1 3.2 3.3 3.4 3.5 3.6 3.7"
  for a in $DIRS; do
    for t in $INSTANTS; do
      single "$a" "$t" &
      throttle
    done
  done
  wait
  n=0 fell=0 fast=0 cap=0 cap_ok=0
  for a in $DIRS; do
    line=""
    for t in $INSTANTS; do
      rm=$(cat "$TMP/d${a}_$t"); r=${rm%/*}; m=${rm#*/}; line="$line $(printf '%-4s' "$rm")"; n=$((n + 1))
      [ "$m" != "-" ] && cap=$((cap + 1))
      case $r in X) fell=$((fell + 1)) ;; -) [ "$m" != "-" ] && cap_ok=$((cap_ok + 1)) ;;
        *) (( r <= 3 )) && fast=$((fast + 1)); [ "$m" != "-" ] && cap_ok=$((cap_ok + 1)) ;; esac
    done
    echo "toward $a deg:$line"
  done
  echo "$ROBOT single $PUSH m/s pushes at 0.5 m/s: survived $((n - fell)) of $n; back within 1-3 steps: $fast;" \
       "capturable in the pendulum model: $cap, of which survived: $cap_ok"
  exit 0
fi
for seed in $SEEDS; do
  one "$seed" &
  throttle
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
