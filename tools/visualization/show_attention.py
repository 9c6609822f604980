"""Show where the encoder's cls token attends in the last block: the mean over heads and every head (Figure 6).

Each image is centre-cropped to the training crop size and encoded with ALL patches visible. The attention weights of
the last block's cls-token query over the patches are overlaid on the image (each map stretched to its own range,
bright = more attention). One row per image: input | mean over heads | head 1 | ... | head H.

Works with any config whose model.backbone is a cae_mm.CAEVisionTransformer (pretraining, probes, fine-tuning) and
with full or backbone-only checkpoints.

Example:
    python tools/visualization/show_attention.py configs/cae/cae_vit-tiny-p16_1xb16-pixel-300i_demo.py \\
        work_dirs/cae_vit-tiny-p16_1xb16-pixel-300i_demo/iter_300.pth data/cae_demo/images \\
        --output work_dirs/visualization/attention.png
"""

import argparse
import sys
from pathlib import Path
from typing import Optional

import torch

from cae_mm.checkpoints import check_output_path
from cae_mm.visualization.display import to_display
from cae_mm.visualization.pictures import default_scale, heatmap_overlay, save_png, tile, upscale

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the folder that holds tools/
from tools.visualization.attention_maps import last_layer_cls_attention  # noqa: E402
from tools.visualization.arguments import picture_tool_parser  # noqa: E402
from tools.visualization import image_inputs  # noqa: E402
from tools.visualization.model_loading import build_backbone, build_data_preprocessor, load_config  # noqa: E402


def parse_args(argv: Optional[list[str]]) -> argparse.Namespace:
    parser = picture_tool_parser(
        __doc__,
        config_help='config with a cae_mm.CAEVisionTransformer backbone',
        checkpoint_help='full or backbone-only checkpoint',
        output='attention.png',
        max_images=4,
    )
    return parser.parse_args(argv)


@torch.no_grad()
def main(argv: Optional[list[str]] = None) -> Path:
    """Write the attention picture; return its path."""
    args = parse_args(argv)
    check_output_path(args.output, [args.config, args.checkpoint, *args.images], args.force)
    cfg = load_config(args.config)
    encoder = build_backbone(cfg, args.checkpoint, args.device)
    preprocessor = build_data_preprocessor(cfg).to(args.device)
    size = args.image_size or image_inputs.image_size_from_config(cfg)
    scale = args.scale or default_scale(size)
    crops = image_inputs.read_images(image_inputs.list_images(args.images, args.max_images), size)  # (B, H, W, 3) BGR
    images = image_inputs.to_model_inputs(crops, preprocessor)  # (B, 3, H, W)
    attention = last_layer_cls_attention(encoder, images).cpu().numpy()  # (B, heads, h, w)
    rows = []
    for original, maps in zip(to_display(images, preprocessor), attention):
        panels = [original, heatmap_overlay(original, maps.mean(axis=0))]
        panels += [heatmap_overlay(original, head_map) for head_map in maps]
        rows.append([upscale(panel, scale) for panel in panels])
    titles = ['input', 'mean of heads'] + [f'head {number + 1}' for number in range(attention.shape[1])]
    path = save_png(tile(rows, titles), args.output)
    print(f'wrote {path}')
    return path


if __name__ == '__main__':
    main()
