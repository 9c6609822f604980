"""The paper's Figure 4 as an experiment: does the decoder read the encoder's own latents only thanks to alignment?

Two small pixel-target CAEs are trained with the same seed, data, masks and budget on the bundled photographs
(``python tools/data/demo_images.py``), one with the alignment loss (weight 2, the paper's) and one without
(``alignment_weight=0``). Then, on crops of held-out photographs, each model reconstructs the masked patches

* through the **full-encoder path** (Figure 4): every patch goes through the encoder, the regressor is skipped and
  the decoder gets the encoder's latents at the masked positions;
* through the **regressor path** (training): visible patches -> encoder -> regressor -> decoder.

Measured per model: PSNR over the masked patches (RGB 0-255; predictions un-normalised with each patch's true mean and
standard deviation, as MAE's visualisation does, so the ``patch mean`` baseline, which predicts every masked patch
flat at its true mean, is the floor to beat), the mean squared error of the normalised-pixel predictions against the
normalised targets (no statistics borrowed), and the latent gap: mean squared distance between the regressor's
predicted latents and the full encoder's latents at the masked positions, over the variance of the latter.

Every photograph in meta/train.txt whose sorted position is a multiple of 5 is held out; the others are copied with
their shorter side reduced to twice the crop size (so that decoding PNGs does not dominate a CPU run) and trained on.
Evaluation uses 5 fixed crops per held-out photograph (the central square and its four quarter squares) with
--masks-per-crop masks each, drawn by the training mask generator from a fixed seed.

Writes ``{output-dir}/with_alignment.png``, ``{output-dir}/without_alignment.png`` (input | masked | regressor | full
encoder), ``{output-dir}/full_encoder_comparison.png`` and the report ``--report`` (markdown).

Example (about 4 minutes on 2 shared CPU cores):
    python tools/analysis/figure4_alignment_ablation.py
"""

import argparse
import platform
import shlex
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import mmcv
import numpy as np
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from cae_mm.models.layers import gather_tokens, mask_to_indices
from cae_mm.visualization.display import to_display
from cae_mm.visualization.pictures import default_scale, save_png, shade_patches, tile, upscale
from cae_mm.visualization.reconstruction import (
    masked_patch_psnr,
    predict_masked_patches,
    reconstruct,
    reconstruction_picture,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the folder that holds tools/
from tools.visualization.image_inputs import build_mask_generator, center_crop, draw_masks, to_model_inputs  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[2]
DEMO_CONFIG = REPO_ROOT / 'configs' / 'cae' / 'cae_vit-tiny-p16_1xb16-pixel-300i_demo.py'
HELD_OUT_EVERY = 5


@dataclass
class Evaluation:
    """Held-out measurements of one model (means over every crop and mask)."""

    psnr_full_encoder: float
    psnr_regressor: float
    psnr_patch_mean: float
    normalised_error_full_encoder: float
    normalised_error_regressor: float
    latent_gap: float


def parse_args(argv: Optional[list[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--data-root', default='data/cae_demo', help='demo dataset root (images/, meta/train.txt)')
    parser.add_argument('--work-dir', default='work_dirs/figure4', help='training runs and checkpoints')
    parser.add_argument('--output-dir', default='docs/figure4', help='folder of the pictures')
    parser.add_argument('--report', default='docs/figure4.md', help='markdown report to write')
    parser.add_argument('--iterations', type=int, default=400, help='training iterations of each model')
    parser.add_argument('--batch-size', type=int, default=16, help='images per iteration')
    parser.add_argument('--image-size', type=int, default=64, help='crop side in pixels')
    parser.add_argument('--patch-size', type=int, default=8, help='patch side in pixels')
    parser.add_argument('--embed-dims', type=int, default=128, help='width of encoder, regressor and decoder')
    parser.add_argument('--depth', type=int, default=4, help='encoder blocks')
    parser.add_argument('--num-heads', type=int, default=4, help='attention heads')
    parser.add_argument('--head-depth', type=int, default=2, help='regressor blocks and decoder blocks')
    parser.add_argument('--alignment-weight', type=float, default=2.0, help='λ of the aligned model (paper: 2)')
    parser.add_argument('--masks-per-crop', type=int, default=4, help='masks drawn per held-out crop')
    parser.add_argument('--num-workers', type=int, default=1, help='data loader workers')
    parser.add_argument(
        '--num-threads',
        type=int,
        default=1,
        help='torch CPU threads (1 keeps a run steady on cores shared with other jobs)',
    )
    parser.add_argument('--seed', type=int, default=0, help='seed of both runs and of the evaluation masks')
    return parser.parse_args(argv)


def split_photographs(data_root: Path, work_dir: Path, short_side: int) -> tuple[Path, list[Path]]:
    """Hold out every HELD_OUT_EVERY-th photograph; copy the others, shorter side reduced to ``short_side``.

    Returns:
        ``(folder of training images, held-out photographs)``.
    """
    names = sorted((data_root / 'meta' / 'train.txt').read_text().split())
    if len(names) < 2 * HELD_OUT_EVERY:
        raise ValueError(
            f'{data_root} lists {len(names)} photographs; lay out the demo dataset with '
            '`python tools/data/demo_images.py`'
        )
    training_folder = work_dir / 'training_images'
    training_folder.mkdir(parents=True, exist_ok=True)
    held_out = []
    for position, name in enumerate(names):
        source = data_root / 'images' / name
        if position % HELD_OUT_EVERY == 0:
            held_out.append(source)
            continue
        image = mmcv.imread(str(source))
        scale = short_side / min(image.shape[:2])
        if scale < 1:
            image = mmcv.imrescale(image, scale, interpolation='area')
        mmcv.imwrite(image, str(training_folder / name))
    return training_folder, held_out


def training_config(args: argparse.Namespace, alignment_weight: float, training_folder: Path, name: str) -> Config:
    """The demo config shrunk to the experiment's model, crops and budget."""
    cfg = Config.fromfile(str(DEMO_CONFIG))
    patch, width = args.patch_size, args.embed_dims
    num_patches = (args.image_size // patch) ** 2
    cfg.model.backbone.update(
        arch=dict(embed_dims=width, num_layers=args.depth, num_heads=args.num_heads, layer_scale_init_value=0.1),
        patch_size=patch,
    )
    cfg.model.neck.update(embed_dims=width, depth=args.head_depth, num_heads=args.num_heads)
    cfg.model.head.update(
        embed_dims=width,
        depth=args.head_depth,
        num_heads=args.num_heads,
        out_dims=patch * patch * 3,
        alignment_weight=alignment_weight,
    )
    cfg.model.target_generator.patch_size = patch
    cfg.train_dataloader.update(
        batch_size=args.batch_size, num_workers=args.num_workers, persistent_workers=args.num_workers > 0
    )
    cfg.train_dataloader.dataset.update(
        data_root=str(training_folder),
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='RandomFlip', prob=0.5),
            dict(
                type='cae_mm.TwoViewRandomResizedCrop', size=args.image_size, scale=(0.08, 1.0), interpolation='bicubic'
            ),
            # Half the patches, blocks of at least 16/196 of the grid: the paper's proportions.
            dict(
                type='cae_mm.BlockwiseMaskGenerator',
                num_masked_patches=num_patches // 2,
                patch_size=patch,
                min_patches_per_block=max(4, round(16 / 196 * num_patches)),
            ),
            dict(type='PackInputs'),
        ],
    )
    warmup = max(1, args.iterations // 10)
    cfg.param_scheduler = [
        dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=warmup),
        dict(type='CosineAnnealingLR', eta_min=1e-5, by_epoch=False, begin=warmup, end=args.iterations),
    ]
    cfg.train_cfg.max_iters = args.iterations
    cfg.default_hooks.logger.interval = max(1, args.iterations // 8)
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook', by_epoch=False, interval=args.iterations, max_keep_ckpts=1
    )
    cfg.randomness = dict(seed=args.seed, diff_rank_seed=True)
    cfg.work_dir = str(Path(args.work_dir) / name)
    cfg.experiment_name = name
    return cfg


def held_out_crops(photographs: list[Path], size: int) -> np.ndarray:
    """Five crops per photograph: the central square and its four quarter squares, each resized to ``size``.

    Returns:
        ``(5 * len(photographs), size, size, 3)`` uint8 BGR, central squares first.
    """
    centres, quarters = [], []
    for path in photographs:
        image = mmcv.imread(str(path), flag='color')
        side = min(image.shape[:2])
        top, left = (image.shape[0] - side) // 2, (image.shape[1] - side) // 2
        square = image[top : top + side, left : left + side]
        centres.append(center_crop(square, size))
        half = side // 2
        for row in (0, half):
            for col in (0, half):
                quarters.append(center_crop(square[row : row + half, col : col + half], size))
    return np.stack(centres + quarters)


@torch.no_grad()
def evaluate(model: torch.nn.Module, images: torch.Tensor, masks: list[torch.Tensor]) -> Evaluation:
    """Measure both reconstruction paths and the latent gap over every mask of every crop."""
    model.eval()
    totals: dict[str, list[torch.Tensor]] = {key: [] for key in Evaluation.__dataclass_fields__}
    for mask in masks:
        outputs = reconstruct(model, images, mask)
        for path in ('full_encoder', 'regressor', 'patch_mean'):
            totals[f'psnr_{path}'].append(masked_patch_psnr(outputs[path], images, mask, model.data_preprocessor))
        targets = model.target_generator(images, mask)  # (B, Nm, p*p*3)
        for path in ('full_encoder', 'regressor'):
            error = (predict_masked_patches(model, images, mask, path) - targets).pow(2).mean(dim=(1, 2))  # (B,)
            totals[f'normalised_error_{path}'].append(error)
        predicted = model.neck(model.backbone.forward_encoder(images, mask)[:, 1:], mask)  # (B, Nm, C)
        _, masked_index = mask_to_indices(mask.flatten(1))
        encoded = gather_tokens(model.neck.project(model.backbone.forward_encoder(images)[:, 1:]), masked_index)
        gap = (predicted - encoded).pow(2).mean(dim=(1, 2)) / encoded.var(dim=1).mean(dim=1)  # (B,)
        totals['latent_gap'].append(gap)
    return Evaluation(**{key: torch.cat(values).mean().item() for key, values in totals.items()})


def comparison_picture(images: torch.Tensor, mask: torch.Tensor, models: dict[str, torch.nn.Module]) -> np.ndarray:
    """input | masked | the full-encoder reconstruction of each model (titled by its name), one row per crop."""
    preprocessor = next(iter(models.values())).data_preprocessor
    patch_size = images.shape[-1] // mask.shape[-1]
    columns = [to_display(images, preprocessor)]
    columns.append(
        np.stack([shade_patches(image, mask[index], patch_size, opacity=1.0) for index, image in enumerate(columns[0])])
    )
    for model in models.values():
        columns.append(to_display(reconstruct(model, images, mask)['full_encoder'], preprocessor))
    scale = default_scale(images.shape[-1])
    rows = [[upscale(column[index], scale) for column in columns] for index in range(len(images))]
    return tile(rows, ['input', 'masked', *models])


def _above_or_below(value: float, reference: float, unit: str = ' dB') -> str:
    return f'{abs(value - reference):.2f}{unit} {"above" if value >= reference else "below"}'


def reading(results: dict[str, Evaluation]) -> list[str]:
    """What the measurements say, stated from the numbers themselves."""
    aligned, unaligned = results['with alignment'], results['without alignment']
    lines = []
    for name, result in results.items():
        lines.append(
            f'- {name.capitalize()}: the full-encoder path reaches {result.psnr_full_encoder:.2f} dB, '
            f'{_above_or_below(result.psnr_full_encoder, result.psnr_patch_mean)} the patch-mean baseline and '
            f"{_above_or_below(result.psnr_full_encoder, result.psnr_regressor)} the same model's regressor path; "
            f'its normalised-pixel MSE is {result.normalised_error_full_encoder:.3f} '
            f'({"better" if result.normalised_error_full_encoder < 1 else "worse"} than predicting zeros).'
        )
    lines.append(
        f'- The regressor paths differ by {abs(aligned.psnr_regressor - unaligned.psnr_regressor):.2f} dB, the '
        f'full-encoder paths by {abs(aligned.psnr_full_encoder - unaligned.psnr_full_encoder):.2f} dB. The latent gap '
        f'is {aligned.latent_gap:.2f} with alignment and {unaligned.latent_gap:.2f} without: '
        + (
            "without alignment the encoder's latents lie far from the predictions the decoder learned to read."
            if unaligned.latent_gap > 2 * aligned.latent_gap
            else 'alignment did not clearly bring the two latent spaces closer in this run.'
        )
    )
    return lines


def report(
    args: argparse.Namespace,
    argv: list[str],
    results: dict[str, Evaluation],
    durations: dict[str, float],
    pictures: dict[str, Path],
    num_training: int,
    held_out: list[Path],
    num_crops: int,
    parameters: int,
) -> str:
    """The markdown report: command, budget, seed, table, reading, pictures."""
    report_folder = Path(args.report).parent.resolve()
    link = {key: path.resolve().relative_to(report_folder) for key, path in pictures.items()}
    names = list(results)
    rows = [
        ('PSNR, full-encoder path (Figure 4), dB', 'psnr_full_encoder', '.2f'),
        ('PSNR, regressor path (training), dB', 'psnr_regressor', '.2f'),
        ('PSNR, patch-mean baseline, dB', 'psnr_patch_mean', '.2f'),
        ('normalised-pixel MSE, full-encoder path', 'normalised_error_full_encoder', '.3f'),
        ('normalised-pixel MSE, regressor path', 'normalised_error_regressor', '.3f'),
        ('latent gap (regressor vs full encoder, / variance)', 'latent_gap', '.3f'),
    ]
    table = [f'| held-out measurement | {" | ".join(names)} |', '|---|' + '---|' * len(names)]
    for title, key, number_format in rows:
        table.append(
            f'| {title} | ' + ' | '.join(format(getattr(results[name], key), number_format) for name in names) + ' |'
        )
    command = 'python tools/analysis/figure4_alignment_ablation.py' + ''.join(f' {shlex.quote(part)}' for part in argv)
    num_patches = (args.image_size // args.patch_size) ** 2
    wall_times = ', '.join(f'{name} {seconds / 60:.1f} min' for name, seconds in durations.items())
    threads = torch.get_num_threads()
    return '\n'.join(
        [
            '# Figure 4: reconstructing from the full encoder output, with and without alignment',
            '',
            'The paper (Figure 4) feeds a whole image to the pretrained CAE encoder and its latents straight to the '
            'decoder, skipping the regressor: the reconstruction works because the alignment loss made the regressor '
            "predict in the encoder's latent space, the space the decoder learned to read; without alignment it is "
            'noisy. This is that experiment at CPU scale, made by `tools/analysis/figure4_alignment_ablation.py` '
            '(its `--help` describes every step). Every number below was measured by the command below.',
            '',
            '## Setup',
            '',
            f'- Command: `{command}`',
            f'- Seed {args.seed} for both runs: the same initial weights, crops, flips and masks (the alignment weight '
            'changes no random draw); the evaluation masks come from the same seed.',
            f'- Model: encoder {args.embed_dims} wide, {args.depth} blocks, {args.num_heads} heads; regressor and '
            f'decoder {args.head_depth} blocks each; {parameters / 1e6:.2f} M parameters; {args.patch_size} px patches '
            f'on {args.image_size} px crops ({num_patches} patches, {num_patches // 2} masked, block-wise); '
            f'normalised-pixel targets; alignment weight {args.alignment_weight:g} vs 0.',
            f'- Budget per model: {args.iterations} iterations of {args.batch_size} crops, AdamW lr 1.5e-3, 10 % '
            f'warmup, cosine; wall time {wall_times} ({platform.machine()} CPU, {threads} torch '
            f'thread{"s" if threads > 1 else ""}, cores shared with other jobs).',
            f'- Data: {num_training} of the bundled photographs for training (shorter side reduced to '
            f'{2 * args.image_size} px); held out: '
            + ', '.join(f'`{path.name}`' for path in held_out)
            + f'; {num_crops} held-out crops, {args.masks_per_crop} masks each.',
            '',
            '## Results (measured, held-out crops)',
            '',
            *table,
            '',
            'PSNR is over the masked patches only, in RGB 0-255. Predictions are per-patch normalised pixels, mapped back '
            "with each masked patch's true mean and standard deviation (as MAE's visualisation does), so every PSNR "
            'here borrows the true patch statistics: the patch-mean baseline (every masked patch flat at its true mean) '
            'is the floor to compare with. The normalised-pixel MSE borrows nothing (predicting zeros scores about 1).',
            '',
            '## Reading',
            '',
            *reading(results),
            '',
            '## Pictures',
            '',
            'Full-encoder path of both models (input | masked | with alignment | without alignment), the central crop '
            'of each held-out photograph:',
            '',
            f'![full-encoder reconstructions]({link["comparison"]})',
            '',
            'Each model on both paths (input | masked | regressor | full encoder):',
            '',
            f'- with alignment: ![with alignment]({link["with alignment"]})',
            f'- without alignment: ![without alignment]({link["without alignment"]})',
            '',
        ]
    )


def main(argv: Optional[list[str]] = None) -> dict[str, Evaluation]:
    """Train both models, measure them, write the pictures and the report; return the measurements."""
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    torch.set_num_threads(args.num_threads)
    work_dir, output_dir = Path(args.work_dir), Path(args.output_dir)
    training_folder, held_out = split_photographs(Path(args.data_root), work_dir, 2 * args.image_size)
    runs = {'with alignment': args.alignment_weight, 'without alignment': 0.0}
    models, durations = {}, {}
    for name, weight in runs.items():
        cfg = training_config(args, weight, training_folder, name.replace(' ', '_'))
        runner = Runner.from_cfg(cfg)
        start = time.perf_counter()
        runner.train()
        durations[name] = time.perf_counter() - start
        models[name] = runner.model.eval()
    model = models['with alignment']
    crops = held_out_crops(held_out, args.image_size)  # (N, S, S, 3) BGR
    images = to_model_inputs(crops, model.data_preprocessor)  # (N, 3, S, S)
    cfg = training_config(args, args.alignment_weight, training_folder, 'masks')
    mask_generator = build_mask_generator(cfg)
    np.random.seed(args.seed)
    masks = [draw_masks(mask_generator, crops, args.patch_size) for _ in range(args.masks_per_crop)]
    results = {name: evaluate(model, images, masks) for name, model in models.items()}

    shown = slice(0, len(held_out))  # the central square of each held-out photograph
    pictures = {
        'comparison': save_png(
            comparison_picture(images[shown], masks[0][shown], models), output_dir / 'full_encoder_comparison.png'
        )
    }
    for name, model in models.items():
        picture = reconstruction_picture(
            images[shown],
            masks[0][shown],
            reconstruct(model, images[shown], masks[0][shown]),
            model.data_preprocessor,
            default_scale(args.image_size),
        )
        pictures[name] = save_png(picture, output_dir / f'{name.replace(" ", "_")}.png')
    parameters = sum(parameter.numel() for parameter in model.parameters())
    text = report(
        args, argv, results, durations, pictures, len(list(training_folder.iterdir())), held_out, len(crops), parameters
    )
    Path(args.report).parent.mkdir(parents=True, exist_ok=True)
    Path(args.report).write_text(text)
    print(text)
    return results


if __name__ == '__main__':
    main()
