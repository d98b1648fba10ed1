#!/usr/bin/env bash
# Stop the processes start-cluster.sh started (by their PIDs), workers first.
set -uo pipefail
DIR=${ZARRFLOW_CLUSTER_DIR:-/tmp/zarrflow-cluster}
[ -f "$DIR/pids" ] || exit 0
mapfile -t PIDS < <(tac "$DIR/pids")
for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
for pid in "${PIDS[@]}"; do
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
done
rm -f "$DIR/pids"
