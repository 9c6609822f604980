#!/usr/bin/env bash
# Installs cae_mm and its pinned OpenMMLab stack into ./.venv (Python 3.11), then lays out the bundled demo dataset.
#
# Idempotent: a second run checks each step and skips what is already in place (about a minute).
# mmcv 2.1.0 must be compiled with its CPU ops against the installed torch; that takes about 9 minutes on 2 cores.
# A directory holding a prebuilt wheel can be named with PIP_FIND_LINKS (pip reads it on its own) to skip the compile.
# A wheel built here is kept in .cache/wheels so that recreating the environment does not compile again.
#
# Environment:
#   PYTHON        interpreter used to create the environment (default: python3.11, else python3)
#   VENV          environment directory (default: .venv)
#   PIP_FIND_LINKS  extra wheel directories, honoured by every pip call
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

venv="${VENV:-.venv}"
python_bin="${PYTHON:-$(command -v python3.11 || command -v python3)}"
constraints="$repo_root/constraints.txt"
wheel_cache="$repo_root/.cache/wheels"
start_seconds=$SECONDS

step() { printf '\n[install %4ds] %s\n' "$((SECONDS - start_seconds))" "$*"; }

if ! "$python_bin" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
    echo "error: cae_mm's pinned stack needs Python 3.11; $python_bin is $("$python_bin" --version 2>&1)." >&2
    echo "       Set PYTHON=/path/to/python3.11." >&2
    exit 1
fi

if [ ! -x "$venv/bin/python" ]; then
    step "creating $venv with $("$python_bin" --version)"
    "$python_bin" -m venv "$venv"
fi
pip=("$venv/bin/python" -m pip --disable-pip-version-check)
python="$venv/bin/python"

step "build tools and torch (the registry's torch===2.13.0 build; about 2.6 GB the first time)"
"${pip[@]}" install -q -c "$constraints" pip==24.3.1 setuptools wheel ninja packaging psutil numpy torch torchvision

mmcv_has_ops() { "$python" -c 'import mmcv, mmcv.ops; from mmcv.ops import nms, RoIAlign' >/dev/null 2>&1; }
if mmcv_has_ops && [ "$("$python" -c 'import mmcv; print(mmcv.__version__)')" = "2.1.0" ]; then
    step "mmcv 2.1.0 with ops already installed"
else
    mkdir -p "$wheel_cache"
    export PIP_FIND_LINKS="${PIP_FIND_LINKS:-} $wheel_cache"
    step "mmcv 2.1.0 with CPU ops (a prebuilt wheel from PIP_FIND_LINKS if one is there, else compiled: ~9 min)"
    if ! "${pip[@]}" install -q --no-index --no-deps mmcv==2.1.0 2>/dev/null; then
        # --no-cache-dir: pip's wheel cache keys on the sdist, not on torch, and would reuse a wheel built for another torch.
        MMCV_WITH_OPS=1 FORCE_CUDA=0 MAX_JOBS="${MAX_JOBS:-2}" \
            "${pip[@]}" wheel -q --no-build-isolation --no-deps --no-cache-dir -c "$constraints" -w "$wheel_cache" mmcv==2.1.0
        "${pip[@]}" install -q --no-index --no-deps mmcv==2.1.0
    fi
fi

step "OpenMMLab stack and cae_mm (editable, with the test and lint extras: pytest, openmim, ruff)"
"${pip[@]}" install -q -c "$constraints" --no-build-isolation -e ".[tests,lint]"
mmcv_has_ops || { echo "error: mmcv 2.1.0 is installed but its compiled ops do not import (see above)" >&2; exit 1; }

step "bundled demo dataset"
"$python" tools/data/demo_images.py

step "done in $((SECONDS - start_seconds)) s; environment: $repo_root/$venv"
