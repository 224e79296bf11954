#!/bin/sh
# Equal-compute pilots of the general model (docs/eval/general-pilots.md): every configuration
# gets one worker, all start together and stop after the same wall minutes, so each sees the same
# share of the CPU. Re-running with the same names resumes them.
#   scripts/train-pilot.sh MINUTES NAME:ARGS...     e.g. scripts/train-pilot.sh 35 "A:--d-model 128"
#   SHARDS=4 scripts/train-pilot.sh ...             (shards per micro-batch; default 2)
# Logs go to logs/pilot-NAME.log, checkpoints to checkpoints/exp/pilot-NAME.
cd "$(dirname "$0")/.." || exit 1
M=$1; shift
mkdir -p logs
for spec in "$@"; do
  n=${spec%%:*}; a=${spec#*:}
  mkdir -p "checkpoints/exp/pilot-$n"
  # shellcheck disable=SC2086  # $a is a list of flags
  nohup node dist/src/cli/main.js train --data general --name "pilot-$n" $a --workers 1 \
    --shards "${SHARDS:-2}" --steps 3000 --warmup 40 --lr 0.0015 --eval-every 100000 \
    --eval-images 1105 --checkpoint-minutes 10 --max-minutes "$M" --resume \
    --run "checkpoints/exp/pilot-$n" --out "checkpoints/exp/pilot-$n/out" \
    > "logs/pilot-$n.log" 2>&1 &
  echo "pilot-$n: pid $!"
done
