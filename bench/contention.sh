#!/usr/bin/env bash
# Training under contention: the wall time of two `zoo_timing` trainings started together on the
# machine, divided by the wall time of one alone (same model, same thread count). On a machine
# whose cores the two processes share, 2.0 is a fair share; much more means idle threads hold
# cores the other process needs (spinning).
#
#   bench/contention.sh [build/bench/zoo_timing] [--models naive,resnet20] [--threads 2]
#                       [--batches 40] [--rounds 3]
#
# Each round times one alone, then two at once; the ratio of a model is the median over rounds of
# (two at once) / (one alone). The wait policy of Shrink's threads comes from the environment,
# e.g. SHRINK_WAIT_POLICY=active bench/contention.sh. Prints one line per model.
set -euo pipefail

exe=build/bench/zoo_timing
models=naive,resnet20
threads=2
batches=40
rounds=3
while [[ $# -gt 0 ]]; do
  case "$1" in
    --models) models="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --batches) batches="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    -*) echo "contention.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) exe="$1"; shift ;;
  esac
done
[[ -x "$exe" ]] || { echo "contention.sh: expected the zoo_timing executable, got '$exe'" >&2; exit 2; }

export OMP_NUM_THREADS="$threads"
run() { "$exe" --models "$1" --train-batches "$batches" --train-only 1 >/dev/null; }
now() { date +%s.%N; }
median() { sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }

echo "zoo_timing: $exe  threads=$threads  batches=$batches  rounds=$rounds" \
     "SHRINK_WAIT_POLICY=${SHRINK_WAIT_POLICY:-(default)}  load: $(cut -d' ' -f1-3 /proc/loadavg)"
for model in ${models//,/ }; do
  alone=() pair=() ratios=()
  for ((r = 0; r < rounds; ++r)); do
    t0=$(now); run "$model"; t1=$(now)
    run "$model" & p1=$!
    run "$model" & p2=$!
    wait "$p1" "$p2"; t2=$(now)
    a=$(awk "BEGIN {print $t1 - $t0}") b=$(awk "BEGIN {print $t2 - $t1}")
    alone+=("$a") pair+=("$b") ratios+=("$(awk "BEGIN {print $b / $a}")")
  done
  printf '%-16s one alone %6.2f s   two at once %6.2f s   ratio %5.2f   (ratios: %s)\n' "$model" \
    "$(printf '%s\n' "${alone[@]}" | median)" "$(printf '%s\n' "${pair[@]}" | median)" \
    "$(printf '%s\n' "${ratios[@]}" | median)" "$(printf '%.2f ' "${ratios[@]}")"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
