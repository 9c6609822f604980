"""Evaluate a trained model on its config's test set with mmengine's Runner (linear/attentive probes, fine-tuning, and
any other cae_mm config with a test loop).

The checkpoint must fit the model exactly: missing, unexpected or differently shaped tensors are an error listing them
(mmengine would load what matches and evaluate the rest at random initialisation), and so is a head whose class count
differs from the checkpoint's or from the test set's.

Examples:
    python tools/test.py configs/linear_probe/cae_vit-base-p16_32xb512-linear-probe-lars-90e_in1k.py \
        work_dirs/cae_vit-base-p16_32xb512-linear-probe-lars-90e_in1k/epoch_90.pth
    python tools/test.py CONFIG CHECKPOINT --work-dir work_dirs/eval --cfg-options test_dataloader.batch_size=64
"""

import argparse
import os
import os.path as osp
import sys

import torch
from mmengine.config import Config, DictAction
from mmengine.model import is_model_wrapper
from mmengine.registry import RUNNERS

import cae_mm  # noqa: F401  (registers cae_mm's modules)
from cae_mm.checkpoints import CheckpointMismatchError, read_checkpoint, require_exact_match, weights_of


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint of the whole model (e.g. written by tools/train.py)')
    parser.add_argument('--work-dir', help='where logs go (default: work_dirs/<config name>)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config entries, key=value')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none')
    parser.add_argument('--local-rank', '--local_rank', type=int, default=0)
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def build_config(args: argparse.Namespace) -> Config:
    """Load the config and apply the command-line options; the checkpoint is loaded by :func:`main`, strictly."""
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    config_name = osp.splitext(osp.basename(args.config))[0]
    cfg.work_dir = args.work_dir or cfg.get('work_dir') or osp.join('work_dirs', config_name)
    cfg.load_from = None
    cfg.resume = False
    # Training-window log statistics ('global' windows) would make mmengine build the training loop and its dataset.
    if 'log_processor' in cfg:
        cfg.log_processor.custom_cfg = []
    if not torch.cuda.is_available() and 'env_cfg' in cfg:
        cfg.env_cfg.setdefault('dist_cfg', {})['backend'] = 'gloo'
    cfg.setdefault('runner_type', 'cae_mm.Runner')  # reads the checkpoint with cae_mm's restricted reader
    return cfg


def check_checkpoint_fits(model: torch.nn.Module, checkpoint: str) -> None:
    """Require the checkpoint to hold exactly the model's tensors, with the model's shapes.

    Raises:
        CheckpointReadError: unreadable, or no weights in the file.
        CheckpointMismatchError: naming the class counts when the classifier's size differs, else listing the
            missing, unexpected and differently shaped tensors.
    """
    weights = weights_of(read_checkpoint(checkpoint), checkpoint)
    weights = {key[len('module.') :] if key.startswith('module.') else key: value for key, value in weights.items()}
    expected = model.state_dict()
    head_classes = getattr(getattr(model, 'head', None), 'num_classes', None)
    for key in sorted(set(weights) & set(expected)):
        saved, wanted = weights[key].shape, expected[key].shape
        if (
            key.startswith('head.')
            and head_classes is not None
            and len(saved) == len(wanted) >= 1
            and saved[1:] == wanted[1:]
            and saved[0] != wanted[0] == head_classes
        ):
            raise CheckpointMismatchError(
                f'class count mismatch: {checkpoint} was trained for {saved[0]} classes ({key}) but '
                f'model.head.num_classes is {head_classes}'
            )
    require_exact_match(weights, expected, checkpoint, 'the model of the config')


def check_class_count(model: torch.nn.Module, dataset: object) -> None:
    """Require the head to have as many classes as the test set names (when both say).

    Raises:
        ValueError: the counts differ.
    """
    head_classes = getattr(getattr(model, 'head', None), 'num_classes', None)
    classes = getattr(dataset, 'metainfo', {}).get('classes')
    if head_classes is not None and classes is not None and len(classes) != head_classes:
        raise ValueError(
            f'class count mismatch: the test set has {len(classes)} classes but model.head.num_classes '
            f'is {head_classes}'
        )


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    runner = RUNNERS.build(build_config(args))
    model = runner.model.module if is_model_wrapper(runner.model) else runner.model
    check_checkpoint_fits(model, args.checkpoint)
    check_class_count(model, runner.test_loop.dataloader.dataset)
    runner.load_checkpoint(args.checkpoint, strict=True)
    metrics = runner.test()
    if runner.rank == 0:
        lines = [f'  {name}: {value}' for name, value in metrics.items()]
        print('\n'.join(['', f'Evaluated {args.checkpoint}:', *lines]))
    return metrics


if __name__ == '__main__':
    main()
