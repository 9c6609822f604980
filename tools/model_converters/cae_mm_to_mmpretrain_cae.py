"""Convert a cae_mm CAE checkpoint into an mmpretrain 1.x CAE checkpoint (``CAEPretrainViT`` + ``CAENeck``).

Usage: python tools/model_converters/cae_mm_to_mmpretrain_cae.py SRC DST [--tokenizer dalle_encoder.pth]
                                                                  [--grid-size 14 14] [--force]

``pos_embed`` is recreated as the sin-cos table of the patch grid and ``teacher`` as a copy of the backbone.
``--tokenizer`` stores DALL-E weights (either public format) as ``target_generator``, as mmpretrain's checkpoints do.
"""

import argparse
import sys
from pathlib import Path
from typing import Optional

import torch

from cae_mm.models.targets.dalle_tokenizer import read_dalle_file
from cae_mm.checkpoints import check_output_path, read_checkpoint, weights_of

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the folder that holds tools/
from tools.model_converters.checkpoint_layouts import (
    cae_mm_to_mmpretrain,
    check_grid_size,
    save_converted,
    training_grid_size,
)  # noqa: E402


def convert(
    state_dict: dict[str, torch.Tensor],
    grid_size: tuple[int, int] = (14, 14),
    tokenizer_state_dict: Optional[dict[str, torch.Tensor]] = None,
) -> dict[str, torch.Tensor]:
    """cae_mm ``CAE`` state dict -> mmpretrain ``CAE`` state dict."""
    return cae_mm_to_mmpretrain(state_dict, grid_size, tokenizer_state_dict)


def main(argv: Optional[list[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('source', help='cae_mm CAE checkpoint')
    parser.add_argument('destination', help='mmpretrain checkpoint to write')
    parser.add_argument('--tokenizer', help='DALL-E weights (dalle_encoder.pth or encoder.pkl) to include')
    parser.add_argument(
        '--grid-size',
        type=int,
        nargs=2,
        default=(14, 14),
        metavar=('ROWS', 'COLUMNS'),
        help='patch grid of the pretraining images (224 px / 16 px patches: 14 14)',
    )
    parser.add_argument('--force', action='store_true', help='replace DST if it exists (never SRC)')
    args = parser.parse_args(argv)
    check_output_path(args.destination, [args.source] + ([args.tokenizer] if args.tokenizer else []), args.force)
    checkpoint = read_checkpoint(args.source)
    grid_size = check_grid_size(args.grid_size, training_grid_size(checkpoint))
    tokenizer = read_dalle_file(args.tokenizer) if args.tokenizer else None
    converted = convert(weights_of(checkpoint, args.source), grid_size, tokenizer)
    save_converted(converted, args.destination, args.source, 'cae_mm_to_mmpretrain_cae')
    print(f'wrote {len(converted)} tensors to {args.destination}')


if __name__ == '__main__':
    main()
