#!/usr/bin/env bash
# Distributed training on a Slurm cluster: srun starts one task per GPU (on CPU-only nodes, one task per process);
# each task runs tools/train.py with mmengine's slurm launcher, which reads SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID
# and SLURM_NODELIST (on CPU-only nodes tools/train.py starts a gloo group from the same variables).
# Usage: bash tools/slurm_train.sh PARTITION JOB_NAME CONFIG [tools/train.py options]
# Environment: GPUS (total tasks, default 8), GPUS_PER_NODE (tasks per node, default 8), CPUS_PER_TASK (default 5),
# CPU_ONLY=1 (request no GPUs), MASTER_PORT (default 29500), SRUN_ARGS (extra srun options), PYTHON (interpreter).
# Example: GPUS=32 bash tools/slurm_train.sh gpu cae-b configs/cae/cae_vit-base-p16_32xb64-dalle-1600e_in1k.py
#          GPUS=16 bash tools/slurm_train.sh gpu cae-l CONFIG --strategy fsdp
set -euo pipefail
if [ $# -lt 3 ]; then
    echo "usage: bash tools/slurm_train.sh PARTITION JOB_NAME CONFIG [tools/train.py options]" >&2
    exit 2
fi
partition=$1
job_name=$2
config=$3
shift 3
gpus=${GPUS:-8}
gpus_per_node=${GPUS_PER_NODE:-8}
cpus_per_task=${CPUS_PER_TASK:-5}
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python_bin="${PYTHON:-$repo_root/.venv/bin/python}"
[ -x "$python_bin" ] || python_bin=python
gres=()
if [ "${CPU_ONLY:-0}" != "1" ]; then
    gres=(--gres="gpu:$gpus_per_node")
fi

# shellcheck disable=SC2086  # SRUN_ARGS is a list of options
PYTHONPATH="$repo_root${PYTHONPATH:+:$PYTHONPATH}" MASTER_PORT="${MASTER_PORT:-29500}" srun \
    --partition="$partition" \
    --job-name="$job_name" \
    "${gres[@]}" \
    --ntasks="$gpus" \
    --ntasks-per-node="$gpus_per_node" \
    --cpus-per-task="$cpus_per_task" \
    --kill-on-bad-exit=1 \
    ${SRUN_ARGS:-} \
    "$python_bin" -u "$repo_root/tools/train.py" "$config" --launcher slurm "$@"
