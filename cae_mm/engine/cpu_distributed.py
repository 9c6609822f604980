"""Multi-process training on CPUs: a gloo process group created before the runner (mmengine's launchers need a GPU)
and model wrappers pointed at the CPU."""

import os
import subprocess
from datetime import timedelta
from typing import Literal

import torch.distributed as torch_distributed
from mmengine.config import Config

Launcher = Literal['pytorch', 'slurm']


def slurm_environment(port: int = 29500) -> dict[str, str]:
    """``RANK``, ``LOCAL_RANK``, ``WORLD_SIZE``, ``MASTER_ADDR``, ``MASTER_PORT`` from Slurm's variables; ``port`` is
    the master port when ``MASTER_PORT`` is not set."""
    nodes = os.environ['SLURM_NODELIST']
    first_host = subprocess.run(
        ['scontrol', 'show', 'hostnames', nodes], capture_output=True, text=True, check=True
    ).stdout.split()[0]
    return dict(
        RANK=os.environ['SLURM_PROCID'],
        LOCAL_RANK=os.environ.get('SLURM_LOCALID', '0'),
        WORLD_SIZE=os.environ['SLURM_NTASKS'],
        MASTER_ADDR=os.environ.get('MASTER_ADDR', first_host),
        MASTER_PORT=os.environ.get('MASTER_PORT', str(port)),
    )


def init_cpu_process_group(launcher: Launcher, timeout_seconds: int = 1800) -> None:
    """Create this process's gloo process group, unless one exists, from the environment of ``launcher``: ``'pytorch'``
    (torchrun's variables) or ``'slurm'`` (one task per process); collectives wait up to ``timeout_seconds``.

    Raises:
        ValueError: another launcher, or the launcher's variables are missing.
    """
    if torch_distributed.is_initialized():
        return
    if launcher == 'slurm':
        os.environ.update(slurm_environment())
    elif launcher != 'pytorch':
        raise ValueError(
            f"CPU process groups are created for the 'pytorch' (torchrun) and 'slurm' launchers, not {launcher!r}"
        )
    missing = [name for name in ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT') if name not in os.environ]
    if missing:
        raise ValueError(
            f'--launcher {launcher} needs the environment variables {missing}: start the processes with '
            'tools/dist_train.sh (torchrun) or tools/slurm_train.sh (srun)'
        )
    torch_distributed.init_process_group(
        backend='gloo',
        rank=int(os.environ['RANK']),
        world_size=int(os.environ['WORLD_SIZE']),
        timeout=timedelta(seconds=timeout_seconds),
    )


def use_cpu_model_wrappers(cfg: Config) -> None:
    """Point the DDP or FSDP model wrapper of ``cfg`` (``model_wrapper_cfg`` or ``strategy.model_wrapper``) at the CPU,
    in place, keeping entries it sets; buffers (the frozen tokenizer) are not broadcast at every forward."""
    strategy = cfg.get('strategy')
    defaults = dict(type='MMDistributedDataParallel', device_ids=None, broadcast_buffers=False)
    if strategy is None:
        defaults['find_unused_parameters'] = cfg.get('find_unused_parameters', False)
        cfg.model_wrapper_cfg = {**defaults, **(cfg.get('model_wrapper_cfg') or {})}
        return
    if strategy.get('type') in ('FSDPStrategy', 'cae_mm.FSDPStrategy'):
        defaults = dict(type='MMFullyShardedDataParallel', device_id='cpu')
        if strategy.get('state_dict_cfg') == 'full':
            # mmengine's 'full' offloads to the CPU, which crashes (SIGSEGV) on shards already there.
            strategy['state_dict_cfg'] = dict(
                state_dict_type='FULL_STATE_DICT',
                state_dict_config=dict(type='FullStateDictConfig', rank0_only=True, offload_to_cpu=False),
                optim_state_dict_config=dict(type='FullOptimStateDictConfig', rank0_only=True, offload_to_cpu=False),
            )
    strategy['model_wrapper'] = {**defaults, **(strategy.get('model_wrapper') or {})}
