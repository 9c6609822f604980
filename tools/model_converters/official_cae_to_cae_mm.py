"""Convert an official CAE pretraining checkpoint (Atten4Vis/CAE ``run_pretraining.py``) into a cae_mm CAE checkpoint.

Usage: python tools/model_converters/official_cae_to_cae_mm.py SRC DST [--config CAE_MM_CONFIG] [--force]

The encoder, regressor (with its projection when narrower than the encoder) and decoder are kept; the aliased
``alignment_encoder`` copy and the fixed sin-cos tables (checked to be sin-cos) are dropped.
"""

import argparse
import sys
from pathlib import Path
from typing import Optional

import torch

from cae_mm.checkpoints import check_output_path, read_checkpoint, weights_of

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the folder that holds tools/
from tools.model_converters.checkpoint_layouts import check_against_config, official_to_cae_mm, save_converted  # noqa: E402


def convert(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Official ``ContextAutoencoderViT`` state dict -> cae_mm ``CAE`` state dict."""
    return official_to_cae_mm(state_dict)


def main(argv: Optional[list[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('source', help='official checkpoint (its "model" entry holds the weights)')
    parser.add_argument('destination', help='cae_mm checkpoint to write')
    parser.add_argument('--config', help='cae_mm config whose model the result must match exactly')
    parser.add_argument('--force', action='store_true', help='replace DST if it exists (never SRC)')
    args = parser.parse_args(argv)
    check_output_path(args.destination, [args.source], args.force)
    converted = convert(weights_of(read_checkpoint(args.source), args.source))
    if args.config:
        check_against_config(converted, args.config)
    save_converted(converted, args.destination, args.source, 'official_cae_to_cae_mm')
    print(f'wrote {len(converted)} tensors to {args.destination}')


if __name__ == '__main__':
    main()
