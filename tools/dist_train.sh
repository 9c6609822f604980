#!/usr/bin/env bash
# Distributed training with torchrun: one process per GPU (or per CPU process group with gloo on a CPU machine).
# Usage: bash tools/dist_train.sh CONFIG NUM_PROCESSES [tools/train.py options]
# Several nodes: set NNODES, NODE_RANK, MASTER_ADDR and MASTER_PORT on every node.
set -euo pipefail
if [ $# -lt 2 ]; then
    echo "usage: bash tools/dist_train.sh CONFIG NUM_PROCESSES [tools/train.py options]" >&2
    exit 2
fi
config=$1
processes=$2
shift 2
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python_bin="${PYTHON:-$repo_root/.venv/bin/python}"
[ -x "$python_bin" ] || python_bin=python

# torchrun starts each worker in a session of its own, out of reach of a signal to this process group, and cannot pass on
# a SIGKILL: each worker (tools/train.py) asks the kernel to kill it when torchrun dies, and checks at start that this
# process, which becomes torchrun by the exec below, still runs (cae_mm/engine/launcher_death.py).
export CAE_MM_LAUNCHER_PID=$$
PYTHONPATH="$repo_root${PYTHONPATH:+:$PYTHONPATH}" exec "$python_bin" -m torch.distributed.run \
    --nnodes="${NNODES:-1}" \
    --node_rank="${NODE_RANK:-0}" \
    --master_addr="${MASTER_ADDR:-127.0.0.1}" \
    --master_port="${MASTER_PORT:-29500}" \
    --nproc_per_node="$processes" \
    "$repo_root/tools/train.py" "$config" --launcher pytorch "$@"
