#!/usr/bin/env bash
# A Dask cluster on this machine from dask's command-line tools: one `dask scheduler` and
# N `dask worker` processes, all on 127.0.0.1, writing a scheduler file that
# cluster/local/cluster.yaml (kind: scheduler) points at. Their PIDs go to a file so
# stop-cluster.sh stops exactly these processes.
#   cluster/local/start-cluster.sh [WORKERS] [THREADS] [MEMORY]   (default 2 1 2GiB)
#   zarrflow rechunk SRC DST --chunks ... --max-mem 1GiB --cluster cluster/local/cluster.yaml
#   cluster/local/stop-cluster.sh
set -euo pipefail
WORKERS=${1:-2}
THREADS=${2:-1}
MEMORY=${3:-2GiB}
DIR=${ZARRFLOW_CLUSTER_DIR:-/tmp/zarrflow-cluster}
DASK=${DASK:-dask}
mkdir -p "$DIR"
rm -f "$DIR/scheduler.json" "$DIR/pids"
"$DASK" scheduler --host 127.0.0.1 --port 0 --dashboard-address "${ZARRFLOW_DASHBOARD:-127.0.0.1:8787}" \
    --scheduler-file "$DIR/scheduler.json" >"$DIR/scheduler.log" 2>&1 &
echo $! >>"$DIR/pids"
for _ in $(seq 300); do [ -s "$DIR/scheduler.json" ] && break; sleep 0.1; done
[ -s "$DIR/scheduler.json" ] || { cat "$DIR/scheduler.log" >&2; exit 1; }
for i in $(seq "$WORKERS"); do
    "$DASK" worker --scheduler-file "$DIR/scheduler.json" --host 127.0.0.1 --nthreads "$THREADS" \
        --memory-limit "$MEMORY" --local-directory "$DIR/worker-$i" --dashboard-address 127.0.0.1:0 \
        --name "local-$i" >"$DIR/worker-$i.log" 2>&1 &
    echo $! >>"$DIR/pids"
done
echo "scheduler file: $DIR/scheduler.json (pids in $DIR/pids)"
