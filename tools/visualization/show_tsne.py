"""t-SNE of the encoder's patch representations, coloured by a segmentation label map (the paper's Figure 7).

Images and their label maps come in ADE20K's on-disk format: an image folder (e.g. images/validation/*.jpg) and a
label folder of PNGs with the same file stems (e.g. annotations/validation/*.png), where pixel value 0 is ADE20K's
unlabelled 'other'. Both are centre-cropped alike (labels with nearest-neighbour resizing); every patch takes the
majority label of its pixels, and patches whose majority is --ignore-label are left out. The representation of a
patch is the encoder's final (normed) output token for it, computed with ALL patches visible. sklearn's t-SNE
embeds them in 2-D; the picture is a scatter plot, one colour per label.

Example:
    python tools/visualization/show_tsne.py configs/cae/cae_vit-tiny-p16_1xb16-pixel-300i_demo.py \\
        work_dirs/cae_vit-tiny-p16_1xb16-pixel-300i_demo/iter_300.pth \\
        data/rendered_scenes/ade/images/validation --labels data/rendered_scenes/ade/annotations/validation \\
        --class-names background square disc triangle --output work_dirs/visualization/tsne.png
"""

import argparse
import sys
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image
from sklearn.manifold import TSNE

from cae_mm.checkpoints import check_output_path
from cae_mm.visualization.pictures import save_png

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the folder that holds tools/
from tools.visualization.arguments import picture_tool_parser  # noqa: E402
from tools.visualization import image_inputs  # noqa: E402
from tools.visualization.model_loading import build_backbone, build_data_preprocessor, load_config  # noqa: E402

FIGURE_INCHES = 8
FIGURE_DPI = 100  # the picture is FIGURE_INCHES * FIGURE_DPI pixels square


def parse_args(argv: Optional[list[str]]) -> argparse.Namespace:
    parser = picture_tool_parser(
        __doc__,
        config_help='config with a cae_mm.CAEVisionTransformer backbone',
        checkpoint_help='full or backbone-only checkpoint',
        output='tsne.png',
        max_images=32,
        scale=False,
    )
    parser.add_argument('--labels', required=True, help='folder of label PNGs named like the images (ADE20K format)')
    parser.add_argument('--max-points', type=int, default=3000, help='patches drawn at random beyond this many')
    parser.add_argument('--ignore-label', type=int, default=0, help="label value left out (ADE20K's 'other': 0)")
    parser.add_argument('--class-names', nargs='+', help='names of label values 1, 2, ... for the legend')
    parser.add_argument('--perplexity', type=float, default=30.0, help='t-SNE perplexity (capped below the count)')
    parser.add_argument('--iterations', type=int, default=1000, help='t-SNE optimisation steps (sklearn: >= 250)')
    parser.add_argument('--seed', type=int, default=0, help='seed of the point sample and of t-SNE')
    return parser.parse_args(argv)


def read_label_maps(images: Sequence[Path], label_folder: Path, size: int) -> np.ndarray:
    """The label PNG of each image (same stem), centre-cropped like the image.

    Returns:
        ``(B, size, size)`` integer labels.

    Raises:
        FileNotFoundError: an image without a label PNG.
    """
    maps = []
    for image in images:
        label_file = label_folder / f'{image.stem}.png'
        if not label_file.is_file():
            raise FileNotFoundError(f'no label map {label_file} for image {image}')
        maps.append(image_inputs.center_crop(np.asarray(Image.open(label_file)), size, interpolation='nearest'))
    return np.stack(maps)


def patch_labels(label_maps: np.ndarray, patch_size: int) -> np.ndarray:
    """The majority label of every patch.

    Args:
        label_maps: ``(B, H, W)`` integer labels.
        patch_size: patch side ``p``.

    Returns:
        ``(B, h*w)``, row-major like the encoder's patch tokens.
    """
    batch, height, width = label_maps.shape
    rows, cols = height // patch_size, width // patch_size
    patches = label_maps.reshape(batch, rows, patch_size, cols, patch_size).transpose(0, 1, 3, 2, 4)  # (B,h,w,p,p)
    patches = patches.reshape(batch * rows * cols, patch_size * patch_size).astype(np.int64)  # (B*h*w, p*p)
    majority = np.array([np.bincount(patch).argmax() for patch in patches])
    return majority.reshape(batch, rows * cols)


def scatter_picture(points: np.ndarray, labels: np.ndarray, class_names: Optional[Sequence[str]], path: Path) -> Path:
    """Draw the 2-D embedding, one colour per label, and save it as a square PNG."""
    figure = Figure(figsize=(FIGURE_INCHES, FIGURE_INCHES), dpi=FIGURE_DPI)
    canvas = FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    for number, label in enumerate(np.unique(labels)):
        name = class_names[label - 1] if class_names and 0 < label <= len(class_names) else f'label {label}'
        chosen = labels == label
        axes.scatter(
            points[chosen, 0], points[chosen, 1], s=6, color=f'C{number % 10}', label=f'{name} ({int(chosen.sum())})'
        )
    axes.set_title(f't-SNE of {len(points)} patch representations')
    axes.set_xticks([])
    axes.set_yticks([])
    axes.legend(loc='best', markerscale=3, fontsize='small')
    canvas.draw()
    return save_png(np.asarray(canvas.buffer_rgba())[..., :3].copy(), path)  # (side, side, 3) RGB


@torch.no_grad()
def main(argv: Optional[list[str]] = None) -> Path:
    """Write the t-SNE picture; return its path."""
    args = parse_args(argv)
    check_output_path(args.output, [args.config, args.checkpoint, *args.images], args.force)
    cfg = load_config(args.config)
    encoder = build_backbone(cfg, args.checkpoint, args.device)
    preprocessor = build_data_preprocessor(cfg).to(args.device)
    size = args.image_size or image_inputs.image_size_from_config(cfg)
    image_files = image_inputs.list_images(args.images, args.max_images)
    labels = patch_labels(read_label_maps(image_files, Path(args.labels), size), encoder.patch_size).reshape(-1)
    features = []
    for start in range(0, len(image_files), 8):
        images = image_inputs.to_model_inputs(
            image_inputs.read_images(image_files[start : start + 8], size), preprocessor
        )  # (b, 3, H, W)
        features.append(encoder.forward_encoder(images)[:, 1:].flatten(0, 1).cpu())  # (b*h*w, C)
    features = torch.cat(features).numpy()  # (B*h*w, C)
    kept = np.flatnonzero(labels != args.ignore_label)
    if len(kept) < 5:
        raise ValueError(f'only {len(kept)} patches carry a label other than {args.ignore_label}: too few for t-SNE')
    generator = np.random.default_rng(args.seed)
    if len(kept) > args.max_points:
        kept = np.sort(generator.choice(kept, args.max_points, replace=False))
    perplexity = min(args.perplexity, (len(kept) - 1) / 3)
    tsne = TSNE(n_components=2, perplexity=perplexity, max_iter=args.iterations, init='pca', random_state=args.seed)
    points = tsne.fit_transform(features[kept])  # (n, 2)
    path = scatter_picture(points, labels[kept], args.class_names, Path(args.output))
    print(f'wrote {path} ({len(kept)} patches)')
    return path


if __name__ == '__main__':
    main()
