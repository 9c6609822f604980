"""tools/slurm_train.sh: srun's options, and two Slurm tasks training on a CPU (a stand-in srun starts them locally)."""

import os
import stat
import subprocess
from pathlib import Path

import pytest
import torch

from tests.conftest import REPO_ROOT, TEST_CONFIG, free_port

# Starts --ntasks copies of the command with the variables Slurm gives each task, and logs its own arguments.
FAKE_SRUN = r"""#!/usr/bin/env bash
echo "$@" > "$SRUN_LOG"
tasks=1
for option in "$@"; do
    case $option in --ntasks=*) tasks=${option#--ntasks=} ;; esac
done
while [ $# -gt 0 ] && [[ $1 == --* ]]; do shift; done
pids=()
for ((task = 0; task < tasks; task++)); do
    SLURM_PROCID=$task SLURM_LOCALID=$task SLURM_NTASKS=$tasks SLURM_NODELIST=localhost "$@" &
    pids+=($!)
done
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
exit $status
"""
FAKE_SCONTROL = '#!/usr/bin/env bash\necho 127.0.0.1\n'


def executable(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


@pytest.mark.slow
@pytest.mark.skipif(torch.cuda.is_available(), reason='checks the CPU (gloo) path')
def test_two_slurm_tasks_train_on_a_cpu(tmp_path, demo_data_root):
    bin_folder = tmp_path / 'bin'
    bin_folder.mkdir()
    executable(bin_folder / 'srun', FAKE_SRUN)
    executable(bin_folder / 'scontrol', FAKE_SCONTROL)
    log = tmp_path / 'srun_arguments.txt'
    environment = dict(
        os.environ,
        PATH=f'{bin_folder}{os.pathsep}{os.environ["PATH"]}',
        SRUN_LOG=str(log),
        GPUS='2',
        GPUS_PER_NODE='2',
        CPU_ONLY='1',
        MASTER_PORT=str(free_port()),
        OMP_NUM_THREADS='1',
    )
    command = [
        'bash',
        'tools/slurm_train.sh',
        'cpu',
        'cae-test',
        str(TEST_CONFIG),
        '--work-dir',
        str(tmp_path / 'work'),
        '--cfg-options',
        f'train_dataloader.dataset.data_root={demo_data_root / "images"}',
        'train_cfg.max_iters=2',
        'default_hooks.checkpoint.interval=2',
    ]
    completed = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=300, env=environment)
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output[-4000:]
    arguments = log.read_text()
    assert '--partition=cpu' in arguments and '--job-name=cae-test' in arguments and '--ntasks=2' in arguments
    assert '--gres' not in arguments  # CPU_ONLY=1
    assert '--launcher slurm' in arguments
    assert 'Distributed training: True' in output
    assert output.count('Training finished.') == 1  # printed by rank 0 only
    assert (tmp_path / 'work' / 'iter_2.pth').is_file()
