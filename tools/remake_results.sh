#!/usr/bin/env bash
# Re-makes results/<config>_seed<N>/ with today's code, one run after another
# on one CPU core, compiling afresh (its time then counts compilation):
#
#   bash tools/remake_results.sh CORE config:seed [config:seed ...]
#   bash tools/remake_results.sh 0 sub:0 sub_steps:1
#
# Each run trains in runs/results/<config>_seed<N> (its checkpoints stay
# there); its files, without the checkpoints, replace the results/ folder.
set -euo pipefail
cd "$(dirname "$0")/.."
core=$1
shift
for spec in "$@"; do
  name=${spec%%:*}
  seed=${spec##*:}
  run=runs/results/${name}_seed${seed}
  echo "$(date -u +%FT%TZ) ${name} seed ${seed} on core ${core}: ${run}"
  rm -rf "$run"  # A fresh run: its time then counts every epoch.
  mkdir -p "$(dirname "$run")"
  LSTM_MATH_CACHE=off taskset -c "$core" python launch.py \
    --config="configs/${name}.py" --config.seed="$seed" --workdir="$run" \
    > "${run}.log" 2>&1 || { echo "failed: see ${run}.log"; continue; }
  out=results/${name}_seed${seed}
  rm -rf "$out"
  mkdir -p "$out"
  find "$run" -maxdepth 1 -type f ! -name '.*' -exec cp {} "$out"/ \;
  echo "$(date -u +%FT%TZ) done: $(grep -m1 'exact-match' "${run}.log")"
done
