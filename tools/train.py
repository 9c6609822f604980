"""Train any cae_mm config (CAE pretraining, and mmpretrain/mmdet/mmseg configs that use cae_mm) with mmengine's Runner.

Examples:
    python tools/train.py configs/cae/cae_vit-tiny-p16_1xb16-pixel-300i_demo.py
    python tools/train.py CONFIG --work-dir work_dirs/run1 --resume            # continue from the latest checkpoint
    python tools/train.py CONFIG --cfg-options train_dataloader.dataset.data_root=/my/images
    python tools/train.py configs/mask_rcnn/mask-rcnn_cae-vit-base-p16_16xb2-ms-1x_coco.py \
        --cfg-options model.backbone.init_cfg.checkpoint=work_dirs/cae_vit-base/epoch_1600.pth   # mmdet/mmseg: same tool
    bash tools/dist_train.sh CONFIG 8 --strategy fsdp                          # sharded training (FlexibleRunner)
    python tools/train.py CONFIG --compile                                     # torch.compile the forward pass
    python tools/train.py CONFIG --amp                                         # bf16 autocast on CPU, fp16 on GPU
"""

import argparse
import os
import os.path as osp
import sys

import torch
from mmengine.config import Config, DictAction
from mmengine.registry import RUNNERS

import cae_mm  # noqa: F401  (registers cae_mm's modules)
from cae_mm.engine import init_cpu_process_group, use_cpu_model_wrappers
from cae_mm.engine.launcher_death import exit_with_launcher

STRATEGY_ROOT = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'configs', '_base_', 'strategies')
STRATEGIES = sorted(osp.splitext(name)[0] for name in os.listdir(STRATEGY_ROOT) if name.endswith('.py'))


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help='config file')
    parser.add_argument('--work-dir', help='where logs and checkpoints go (default: work_dirs/<config name>)')
    parser.add_argument(
        '--resume',
        nargs='?',
        const='auto',
        help='resume training: from the complete checkpoint of the highest iteration/epoch in the work dir, or from '
        'the given checkpoint file (checked against the model and optimizer before training starts)',
    )
    parser.add_argument(
        '--amp', action='store_true', help='mixed precision (fp16 with loss scaling on GPU, bf16 on CPU)'
    )
    parser.add_argument('--auto-scale-lr', action='store_true', help='scale the lr linearly with the total batch size')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config entries, key=value')
    parser.add_argument(
        '--strategy',
        choices=STRATEGIES,
        help='train with an mmengine strategy (FlexibleRunner): configs/_base_/strategies/NAME.py',
    )
    parser.add_argument(
        '--compile',
        nargs='?',
        const='inductor',
        metavar='BACKEND',
        help="torch.compile the model's forward pass with BACKEND (default inductor; "
        'cae_mm.CompileForwardHook): the first steps are slow while it compiles',
    )
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none')
    parser.add_argument('--local-rank', '--local_rank', type=int, default=0)
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def build_config(args: argparse.Namespace) -> Config:
    """Load the config and apply the command-line options."""
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.strategy:
        cfg.merge_from_dict(Config.fromfile(osp.join(STRATEGY_ROOT, f'{args.strategy}.py')).to_dict())
    if args.compile:
        cfg.custom_hooks = [*cfg.get('custom_hooks', []), dict(type='cae_mm.CompileForwardHook', backend=args.compile)]
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    cfg.work_dir = (
        args.work_dir or cfg.get('work_dir') or osp.join('work_dirs', osp.splitext(osp.basename(args.config))[0])
    )
    if args.amp and torch.cuda.is_available():
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    elif args.amp:
        cfg.optim_wrapper.type = 'cae_mm.BFloat16AutocastOptimWrapper'
    if args.auto_scale_lr:
        if 'auto_scale_lr' not in cfg:
            raise ValueError(f'{args.config} has no auto_scale_lr.base_batch_size: cannot scale the learning rate')
        cfg.auto_scale_lr.enable = True
    if args.resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif args.resume:
        cfg.resume, cfg.load_from = True, args.resume
    if not torch.cuda.is_available() and 'env_cfg' in cfg:
        cfg.env_cfg.setdefault('dist_cfg', {})['backend'] = 'gloo'
    # cae_mm's runner: safe checkpoint reading, resume by iteration number, the work dir lock (cae_mm.checkpoints).
    cfg.setdefault('runner_type', 'cae_mm.Runner')
    return cfg


def prepare_cpu_distributed(cfg: Config) -> None:
    """Make ``--launcher pytorch`` (tools/dist_train.sh) and ``--launcher slurm`` work on a machine without GPUs.

    mmengine's launchers pin a CUDA device before starting the process group, and its DDP and FSDP wrappers are given
    a GPU id; both fail without CUDA. Here the gloo process group is started from the launcher's environment (the
    Runner then uses it as it is) and the wrappers are pointed at the CPU (see ``cae_mm.engine.cpu_distributed``).
    """
    if cfg.launcher not in ('pytorch', 'slurm') or torch.cuda.is_available():
        return
    init_cpu_process_group(cfg.launcher)
    use_cpu_model_wrappers(cfg)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.launcher == 'pytorch':
        exit_with_launcher()  # a killed torchrun must not leave this worker training on (tools/dist_train.sh)
    cfg = build_config(args)
    prepare_cpu_distributed(cfg)
    runner = RUNNERS.build(cfg)
    runner.train()
    if runner.rank == 0:
        work_dir = osp.abspath(runner.work_dir)
        last = osp.join(work_dir, 'last_checkpoint')
        checkpoint = open(last).read().strip() if osp.exists(last) else '(none written)'
        print(f'\nTraining finished.\n  checkpoint: {checkpoint}\n  logs:       {osp.join(work_dir, runner.timestamp)}')


if __name__ == '__main__':
    main()
