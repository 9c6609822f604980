"""Show a pixel-target CAE's reconstructions along its two paths (the paper's Figure 4 and the training path).

One row per image, centre-cropped to the training crop size, with a mask drawn by the config's mask generator:

  input | masked | regressor | full encoder

* regressor: the training path. The encoder sees the visible patches, the regressor predicts the latents of the
  masked ones, the decoder turns them into pixels.
* full encoder: the Figure 4 path. The encoder sees ALL patches, the regressor is skipped, and the decoder gets the
  encoder's own latents at the masked positions (plus their positions). It works only if the alignment loss made the
  regressor predict in the encoder's latent space.

Visible patches are copied from the input in both reconstructions. The model predicts per-patch normalised pixels;
as in MAE's visualisation they are un-normalised with the TRUE mean and standard deviation of each masked patch
(taken from the input image), so the pictures show predicted structure, not predicted brightness. The printed PSNR
(over the masked patches, RGB 0-255) is of these pictures; 'patch mean' is the baseline that predicts every masked
patch flat at its true mean.

Example:
    python tools/visualization/show_reconstruction.py configs/cae/cae_vit-tiny-p16_1xb16-pixel-300i_demo.py \\
        work_dirs/cae_vit-tiny-p16_1xb16-pixel-300i_demo/iter_300.pth data/cae_demo/images \\
        --output work_dirs/visualization/reconstruction.png
"""

import argparse
import sys
from pathlib import Path
from typing import Optional

import numpy as np
import torch

from cae_mm.checkpoints import check_output_path
from cae_mm.visualization.pictures import default_scale, save_png
from cae_mm.visualization.reconstruction import (
    masked_patch_psnr,
    reconstruct,
    reconstruction_picture,
    require_pixel_target,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the folder that holds tools/
from tools.visualization.arguments import picture_tool_parser  # noqa: E402
from tools.visualization import image_inputs  # noqa: E402
from tools.visualization.model_loading import build_model, load_config  # noqa: E402


def parse_args(argv: Optional[list[str]]) -> argparse.Namespace:
    parser = picture_tool_parser(
        __doc__,
        config_help='config of a pixel-target CAE (cae_mm.NormalizedPixelTarget)',
        checkpoint_help='full CAE checkpoint (encoder, regressor and decoder)',
        output='reconstruction.png',
        max_images=4,
    )
    parser.add_argument('--seed', type=int, default=0, help='seed of numpy, which the mask generator draws from')
    return parser.parse_args(argv)


@torch.no_grad()
def main(argv: Optional[list[str]] = None) -> Path:
    """Write the reconstruction picture, print the PSNRs; return the picture's path."""
    args = parse_args(argv)
    check_output_path(args.output, [args.config, args.checkpoint, *args.images], args.force)
    cfg = load_config(args.config)
    target_type = str(cfg.model.get('target_generator', {}).get('type', ''))
    if not target_type.endswith('NormalizedPixelTarget'):
        # Checked before building: a tokenizer model would first ask for tokenizer weights it does not need here.
        raise ValueError(
            f'{args.config} trains with {target_type or "no"} targets; pixel reconstructions need a '
            'pixel-target config (cae_mm.NormalizedPixelTarget)'
        )
    model = build_model(cfg, args.checkpoint, args.device)
    require_pixel_target(model)
    size = args.image_size or image_inputs.image_size_from_config(cfg)
    crops = image_inputs.read_images(image_inputs.list_images(args.images, args.max_images), size)  # (B, H, W, 3) BGR
    np.random.seed(args.seed)
    generator = image_inputs.build_mask_generator(cfg)
    mask = image_inputs.draw_masks(generator, crops, model.backbone.patch_size).to(args.device)  # (B, h, w)
    images = image_inputs.to_model_inputs(crops, model.data_preprocessor)  # (B, 3, H, W)
    reconstructions = reconstruct(model, images, mask)
    for name, reconstruction in reconstructions.items():
        psnr = masked_patch_psnr(reconstruction, images, mask, model.data_preprocessor)
        print(
            f'{name:>12}: PSNR over the masked patches {psnr.mean():.2f} dB '
            f'(per image: {", ".join(f"{value:.2f}" for value in psnr.tolist())})'
        )
    picture = reconstruction_picture(
        images, mask, reconstructions, model.data_preprocessor, args.scale or default_scale(size)
    )
    path = save_png(picture, args.output)
    print(f'wrote {path}')
    return path


if __name__ == '__main__':
    main()
