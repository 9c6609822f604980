"""Convert a cae_mm CAE checkpoint into an mmpretrain 1.x CAE checkpoint (``CAEPretrainViT`` + ``CAENeck``).

Usage: python tools/model_converters/cae_mm_to_mmpretrain_cae.py SRC DST [--tokenizer dalle_encoder.pth]
                                                                  [--grid-size 14 14]

``pos_embed`` is recreated as the sin-cos table of the patch grid and ``teacher`` as a copy of the backbone.
``--tokenizer`` stores DALL-E weights (either public format) as ``target_generator``, as mmpretrain's checkpoints do.
"""
import argparse
from typing import Optional

import torch

from cae_mm.models.targets.dalle_tokenizer import read_dalle_file
from cae_mm.utils.checkpoint_conversion import cae_mm_to_mmpretrain
from cae_mm.utils.checkpoint_files import read_checkpoint, save_converted, state_dict_of


def convert(state_dict: dict[str, torch.Tensor],
            grid_size: tuple[int, int] = (14, 14),
            tokenizer_state_dict: Optional[dict[str, torch.Tensor]] = None) -> dict[str, torch.Tensor]:
    """cae_mm ``CAE`` state dict -> mmpretrain ``CAE`` state dict."""
    return cae_mm_to_mmpretrain(state_dict, grid_size, tokenizer_state_dict)


def main(argv: Optional[list[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('source', help='cae_mm CAE checkpoint')
    parser.add_argument('destination', help='mmpretrain checkpoint to write')
    parser.add_argument('--tokenizer', help='DALL-E weights (dalle_encoder.pth or encoder.pkl) to include')
    parser.add_argument('--grid-size', type=int, nargs=2, default=(14, 14), metavar=('ROWS', 'COLUMNS'),
                        help='patch grid of the pretraining images (224 px / 16 px patches: 14 14)')
    args = parser.parse_args(argv)
    tokenizer = read_dalle_file(args.tokenizer) if args.tokenizer else None
    converted = convert(state_dict_of(read_checkpoint(args.source), args.source), tuple(args.grid_size), tokenizer)
    save_converted(converted, args.destination, args.source, 'cae_mm_to_mmpretrain_cae')
    print(f'wrote {len(converted)} tensors to {args.destination}')


if __name__ == '__main__':
    main()
