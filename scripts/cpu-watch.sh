#!/bin/sh
# Every 20 s, the CPU seconds (user + system, all threads) of each running general-corpus training
# process, as "unix-time run-name seconds" lines in logs/cpu.log: the compute of a pilot or a run.
cd "$(dirname "$0")/.." || exit 1
mkdir -p logs
while true; do
  for p in $(pgrep -f "main.js train --data general"); do
    n=$(tr '\0' ' ' < "/proc/$p/cmdline" | sed 's/.*--name \([a-zA-Z0-9-]*\).*/\1/')
    t=$(awk '{print ($14+$15)/100}' "/proc/$p/stat" 2>/dev/null)
    echo "$(date +%s) $n $t"
  done >> logs/cpu.log
  sleep 20
done
