"""Extract the pretrained encoder of a cae_mm CAE checkpoint, for classifiers, detectors and segmentors.

Usage: python tools/model_converters/cae_mm_to_backbone.py SRC DST [--format cae_mm|mmpretrain] [--grid-size 14 14]
                                                             [--force]

``--format cae_mm`` (default): keys ``backbone.*`` for cae_mm's ``CAEVisionTransformer`` in mmpretrain, mmdet or mmseg
models; load with ``init_cfg=dict(type='Pretrained', checkpoint=DST, prefix='backbone.')`` on the backbone.
``--format mmpretrain``: keys of mmpretrain's own ``BEiTViT`` (used by its CAE fine-tuning configs), with the sin-cos
``pos_embed`` of the given patch grid.
"""

import argparse
import sys
from pathlib import Path
from typing import Literal, Optional

import torch

from cae_mm.checkpoints import check_output_path, read_checkpoint, weights_of

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the folder that holds tools/
from tools.model_converters.checkpoint_layouts import (  # noqa: E402
    cae_mm_to_backbone,
    cae_mm_to_mmpretrain_backbone,
    check_grid_size,
    save_converted,
    training_grid_size,
)


def convert(
    state_dict: dict[str, torch.Tensor],
    output_format: Literal['cae_mm', 'mmpretrain'] = 'cae_mm',
    grid_size: Optional[tuple[int, int]] = (14, 14),
) -> dict[str, torch.Tensor]:
    """cae_mm ``CAE`` state dict -> its encoder alone (``backbone.*``), in cae_mm's or mmpretrain's names."""
    if output_format == 'mmpretrain':
        return cae_mm_to_mmpretrain_backbone(state_dict, grid_size)
    return cae_mm_to_backbone(state_dict)


def main(argv: Optional[list[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('source', help='cae_mm CAE checkpoint (full or backbone-only)')
    parser.add_argument('destination', help='backbone checkpoint to write')
    parser.add_argument('--format', choices=('cae_mm', 'mmpretrain'), default='cae_mm', help='key names to write')
    parser.add_argument(
        '--grid-size',
        type=int,
        nargs=2,
        default=(14, 14),
        metavar=('ROWS', 'COLUMNS'),
        help='patch grid of the position table written for --format mmpretrain',
    )
    parser.add_argument('--force', action='store_true', help='replace DST if it exists (never SRC)')
    args = parser.parse_args(argv)
    check_output_path(args.destination, [args.source], args.force)
    checkpoint = read_checkpoint(args.source)
    # Only mmpretrain's layout holds a position table; cae_mm's encoder computes its own for any grid.
    grid_size = check_grid_size(args.grid_size, training_grid_size(checkpoint)) if args.format == 'mmpretrain' else None
    converted = convert(weights_of(checkpoint, args.source), args.format, grid_size)
    save_converted(converted, args.destination, args.source, f'cae_mm_to_backbone --format {args.format}')
    print(f'wrote {len(converted)} tensors to {args.destination}')


if __name__ == '__main__':
    main()
