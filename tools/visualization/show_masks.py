"""Draw the block-wise masks of a config's mask generator over images (the paper's Figure 3).

Each image is centre-cropped to the training crop size and gets --num-masks masks drawn by the generator of the
config's training pipeline (e.g. cae_mm.BlockwiseMaskGenerator: exactly N patches, rectangles of at least 16). Masked
patches are tinted blue. One row per image: the crop, then its masks. No checkpoint is needed: masks do not depend
on the weights.

Example:
    python tools/visualization/show_masks.py configs/cae/cae_vit-base-p16_32xb64-dalle-300e_in1k.py \\
        data/cae_demo/images --max-images 4 --output work_dirs/visualization/masks.png
"""

import argparse
import sys
from pathlib import Path
from typing import Optional

import numpy as np

from cae_mm.checkpoints import check_output_path
from cae_mm.visualization.pictures import default_scale, save_png, shade_patches, tile, upscale

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the folder that holds tools/
from tools.visualization.arguments import picture_tool_parser  # noqa: E402
from tools.visualization import image_inputs  # noqa: E402
from tools.visualization.model_loading import load_config  # noqa: E402

MASK_COLOUR = (30, 90, 220)  # blue stands out on the grey-scale photographs too


def parse_args(argv: Optional[list[str]]) -> argparse.Namespace:
    parser = picture_tool_parser(
        __doc__,
        config_help='config whose training pipeline holds the mask generator',
        checkpoint_help=None,
        output='masks.png',
        max_images=4,
        device=False,
    )
    parser.add_argument('--num-masks', type=int, default=3, help='masks drawn per image')
    parser.add_argument('--patch-size', type=int, help="patch side; default: the config's model.backbone.patch_size")
    parser.add_argument('--seed', type=int, default=0, help='seed of numpy, which the mask generator draws from')
    return parser.parse_args(argv)


def main(argv: Optional[list[str]] = None) -> Path:
    """Write the mask picture; return its path."""
    args = parse_args(argv)
    check_output_path(args.output, [args.config, *args.images], args.force)
    cfg = load_config(args.config)
    size = args.image_size or image_inputs.image_size_from_config(cfg)
    patch_size = args.patch_size or cfg.model.backbone.patch_size
    scale = args.scale or default_scale(size)
    crops = image_inputs.read_images(image_inputs.list_images(args.images, args.max_images), size)  # (B, H, W, 3) BGR
    generator = image_inputs.build_mask_generator(cfg)
    np.random.seed(args.seed)
    masks = [
        image_inputs.draw_masks(generator, crops, patch_size) for _ in range(args.num_masks)
    ]  # num_masks x (B, h, w)
    rows = []
    for index, crop in enumerate(crops):
        rgb = np.ascontiguousarray(crop[..., ::-1])
        panels = [rgb] + [
            shade_patches(rgb, mask[index], patch_size, opacity=0.6, colour=MASK_COLOUR) for mask in masks
        ]
        rows.append([upscale(panel, scale) for panel in panels])
    num_masked, num_patches = int(masks[0][0].sum()), masks[0][0].numel()
    titles = ['input'] + [f'mask {number + 1}: {num_masked} of {num_patches}' for number in range(args.num_masks)]
    path = save_png(tile(rows, titles), args.output)
    print(f'wrote {path}')
    return path


if __name__ == '__main__':
    main()
