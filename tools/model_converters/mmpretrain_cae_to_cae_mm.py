"""Convert an mmpretrain 1.x / mmselfsup 1.x CAE checkpoint into a cae_mm CAE checkpoint.

Usage: python tools/model_converters/mmpretrain_cae_to_cae_mm.py SRC DST [--config CAE_MM_CONFIG]
                                                                  [--tokenizer-out dalle_encoder.pth] [--force]

Backbone, regressor and decoder are kept; ``teacher`` (mmpretrain's one-step-stale copy of the backbone) and the
fixed ``pos_embed`` (checked to be sin-cos) are dropped. The DALL-E weights stored in mmpretrain checkpoints are not
part of cae_mm checkpoints; ``--tokenizer-out`` writes them as a ``dalle_encoder.pth`` for the DALL-E configs.
"""

import argparse
import sys
from pathlib import Path
from typing import Optional

import torch

from cae_mm.checkpoints import atomic_save, check_output_path, read_checkpoint, weights_of

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the folder that holds tools/
from tools.model_converters.checkpoint_layouts import (  # noqa: E402
    check_against_config,
    mmpretrain_to_cae_mm,
    mmpretrain_tokenizer_state_dict,
    save_converted,
)


def convert(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """mmpretrain ``CAE`` state dict -> cae_mm ``CAE`` state dict."""
    return mmpretrain_to_cae_mm(state_dict)


def main(argv: Optional[list[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('source', help='mmpretrain/mmselfsup CAE checkpoint')
    parser.add_argument('destination', help='cae_mm checkpoint to write')
    parser.add_argument('--config', help='cae_mm config whose model the result must match exactly')
    parser.add_argument('--tokenizer-out', help='also write the DALL-E weights of the checkpoint to this file')
    parser.add_argument('--force', action='store_true', help='replace DST if it exists (never SRC)')
    args = parser.parse_args(argv)
    check_output_path(args.destination, [args.source], args.force)
    if args.tokenizer_out:
        check_output_path(args.tokenizer_out, [args.source, args.destination], args.force)
    state_dict = weights_of(read_checkpoint(args.source), args.source)
    converted = convert(state_dict)
    tokenizer = mmpretrain_tokenizer_state_dict(state_dict) if args.tokenizer_out else None
    if args.config:
        check_against_config(converted, args.config)
    save_converted(converted, args.destination, args.source, 'mmpretrain_cae_to_cae_mm')
    print(f'wrote {len(converted)} tensors to {args.destination}')
    if args.tokenizer_out:
        atomic_save(tokenizer, args.tokenizer_out)
        print(f'wrote the DALL-E encoder weights to {args.tokenizer_out}')


if __name__ == '__main__':
    main()
