"""Time and memory of one training iteration of the full-size downstream models on this machine (CPU or GPU).

Builds the model of a full-size config with random weights (no checkpoint is read), makes a synthetic batch of the
given size (random pixels; for detection, random boxes with box-shaped masks; for segmentation, random labels), and
runs warm-up iterations and then timed ones: forward + loss, backward, optimizer step (AdamW with layer decay, as
the config says). Memory on CPU is the process's resident set: before the first iteration (model built) and its
peak (``getrusage`` high-water mark) afterwards; on GPU it is torch's peak allocation.

Examples:
    python tools/benchmarks/benchmark_downstream.py mask_rcnn --height 800 --width 1333 --checkpointing on
    python tools/benchmarks/benchmark_downstream.py mask_rcnn --window-size 14 --checkpointing off
    python tools/benchmarks/benchmark_downstream.py vitdet --checkpointing on
    python tools/benchmarks/benchmark_downstream.py upernet --height 512 --width 512 --batch-size 2
    python tools/benchmarks/benchmark_downstream.py --matrix        # every row of docs/downstream.md, one process each
"""

import argparse
import json
import os.path as osp
import resource
import subprocess
import sys
import time

import numpy as np
import torch

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = {
    'mask_rcnn': 'configs/mask_rcnn/mask-rcnn_cae-vit-base-p16_16xb2-ms-1x_coco.py',
    'vitdet': 'configs/vitdet/mask-rcnn_cae-vit-base-p16-window14-sfp_16xb2-ms-1x_coco.py',
    'upernet': 'configs/upernet/upernet_cae-vit-base-p16_8xb2-160k_ade20k-512x512.py',
}
# ViTDet's global blocks for ViT-B, used when --window-size turns on windows in the Mask R-CNN config.
GLOBAL_BLOCKS = (2, 5, 8, 11)
MATRIX = [
    ['mask_rcnn', '--checkpointing', 'off'],
    ['mask_rcnn', '--checkpointing', 'on'],
    ['mask_rcnn', '--checkpointing', 'off', '--window-size', '14'],
    ['mask_rcnn', '--checkpointing', 'on', '--window-size', '14'],
    ['vitdet', '--checkpointing', 'off'],
    ['vitdet', '--checkpointing', 'on'],
    ['upernet', '--checkpointing', 'off', '--height', '512', '--width', '512', '--batch-size', '2'],
    ['upernet', '--checkpointing', 'on', '--height', '512', '--width', '512', '--batch-size', '2'],
]


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('model', nargs='?', choices=sorted(CONFIGS), help='which full-size ViT-B config')
    parser.add_argument('--height', type=int, default=800, help='image height (default: %(default)s)')
    parser.add_argument('--width', type=int, default=1333, help='image width (default: %(default)s)')
    parser.add_argument('--batch-size', type=int, default=1, help='images per iteration (default: %(default)s)')
    parser.add_argument('--checkpointing', choices=['on', 'off'], default='on', help='activation checkpointing')
    parser.add_argument('--window-size', type=int, help='turn window attention on (global blocks 2, 5, 8, 11)')
    parser.add_argument('--warmup', type=int, default=0, help='untimed iterations first (default: %(default)s)')
    parser.add_argument('--iterations', type=int, default=1, help='timed iterations (default: %(default)s)')
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--matrix', action='store_true', help='run every configuration of docs/downstream.md')
    args = parser.parse_args(argv)
    if not args.matrix and args.model is None:
        parser.error('name a model or pass --matrix')
    return args


def build(args: argparse.Namespace) -> tuple[torch.nn.Module, object, str]:
    """The config's model (random weights, BN for SyncBN) and its optimizer wrapper."""
    from mmengine.config import Config
    from mmengine.model import revert_sync_batchnorm
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import init_default_scope

    import cae_mm  # noqa: F401  (registers cae_mm's modules)

    cfg = Config.fromfile(osp.join(REPO_ROOT, CONFIGS[args.model]))
    encoder = cfg.model.backbone.encoder
    encoder.with_checkpoint = args.checkpointing == 'on'
    if args.window_size:
        encoder.update(window_size=args.window_size, global_attention_indices=GLOBAL_BLOCKS)
    cfg.model.backbone.init_cfg = None
    init_default_scope(cfg.default_scope)
    if cfg.default_scope == 'mmdet':
        from mmdet.registry import MODELS
    else:
        from mmseg.registry import MODELS
    model = revert_sync_batchnorm(MODELS.build(cfg.model)).to(args.device).train()
    return model, build_optim_wrapper(model, cfg.optim_wrapper), cfg.default_scope


def detection_batch(height: int, width: int, batch_size: int, objects: int = 8) -> dict:
    """Random images with ``objects`` random boxes each and box-shaped masks, as mmdet's pipeline packs them."""
    from mmdet.structures import DetDataSample
    from mmdet.structures.mask import BitmapMasks
    from mmengine.structures import InstanceData

    generator = np.random.default_rng(0)
    inputs, samples = [], []
    for _ in range(batch_size):
        inputs.append(torch.from_numpy(generator.integers(0, 256, (3, height, width), dtype=np.uint8)))
        sizes = generator.integers(32, min(height, width) // 3, (objects, 2))
        corners = generator.integers(0, [width, height], (objects, 2)) % ([width, height] - sizes)
        boxes = np.concatenate([corners, corners + sizes], axis=1).astype(np.float32)
        masks = np.zeros((objects, height, width), dtype=np.uint8)
        for mask, (left, top, right, bottom) in zip(masks, boxes.astype(int)):
            mask[top:bottom, left:right] = 1
        sample = DetDataSample(
            metainfo=dict(img_shape=(height, width), ori_shape=(height, width), scale_factor=(1.0, 1.0))
        )
        sample.gt_instances = InstanceData(
            bboxes=torch.from_numpy(boxes),
            labels=torch.from_numpy(generator.integers(0, 80, objects)),
            masks=BitmapMasks(masks, height, width),
        )
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def segmentation_batch(height: int, width: int, batch_size: int) -> dict:
    """Random images with random 150-class label maps, as mmseg's pipeline packs them."""
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample

    generator = np.random.default_rng(0)
    inputs, samples = [], []
    for _ in range(batch_size):
        inputs.append(torch.from_numpy(generator.integers(0, 256, (3, height, width), dtype=np.uint8)))
        sample = SegDataSample(
            metainfo=dict(img_shape=(height, width), ori_shape=(height, width), pad_shape=(height, width))
        )
        sample.gt_sem_seg = PixelData(data=torch.from_numpy(generator.integers(0, 150, (1, height, width))))
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def resident_memory_gib() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**30


def peak_memory_gib(device: str) -> float:
    if device.startswith('cuda'):
        return torch.cuda.max_memory_allocated() / 2**30
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB on Linux


def synchronise(device: str) -> None:
    if device.startswith('cuda'):
        torch.cuda.synchronize()


def benchmark(args: argparse.Namespace) -> dict:
    """Run the iterations; return the measurements and the settings as one record."""
    model, optim_wrapper, scope = build(args)
    if scope == 'mmdet':
        raw = detection_batch(args.height, args.width, args.batch_size)
    else:
        raw = segmentation_batch(args.height, args.width, args.batch_size)
    batch = model.data_preprocessor(raw, True)
    memory_before = resident_memory_gib() if args.device == 'cpu' else torch.cuda.memory_allocated() / 2**30
    timings: dict[str, list[float]] = dict(forward=[], backward_and_step=[])
    for iteration in range(args.warmup + args.iterations):
        synchronise(args.device)
        start = time.perf_counter()
        loss, _ = model.parse_losses(model(**batch, mode='loss'))
        synchronise(args.device)
        middle = time.perf_counter()
        optim_wrapper.update_params(loss)
        synchronise(args.device)
        end = time.perf_counter()
        if iteration >= args.warmup:
            timings['forward'].append(middle - start)
            timings['backward_and_step'].append(end - middle)
    forward, backward = np.mean(timings['forward']), np.mean(timings['backward_and_step'])
    padded_height, padded_width = batch['inputs'].shape[-2:]
    return dict(
        model=args.model,
        input=f'{args.batch_size}x3x{padded_height}x{padded_width}',
        checkpointing=args.checkpointing,
        attention=f'window {model.backbone.encoder.window_size} + global at {GLOBAL_BLOCKS}'
        if model.backbone.encoder.window_size
        else 'global',
        device=args.device,
        threads=torch.get_num_threads(),
        seconds_per_iteration=round(float(forward + backward), 2),
        forward_seconds=round(float(forward), 2),
        backward_and_step_seconds=round(float(backward), 2),
        memory_before_gib=round(memory_before, 2),
        peak_memory_gib=round(peak_memory_gib(args.device), 2),
        loss=round(loss.item(), 3),
    )


def run_matrix(device: str) -> None:
    """Each configuration in its own process (a clean memory high-water mark); print a markdown table."""
    print(
        '| model | input (padded) | attention | act. checkpointing | s / iteration (forward + backward/step) | '
        'memory: model + optimizer built -> peak (GiB) |'
    )
    print('|---|---|---|---|---|---|')
    for row in MATRIX:
        completed = subprocess.run(
            [sys.executable, __file__, *row, '--device', device], capture_output=True, text=True, cwd=REPO_ROOT
        )
        if completed.returncode != 0:
            print(f'| {" ".join(row)} | failed: {completed.stderr.strip().splitlines()[-1]} |||||')
            continue
        record = json.loads(completed.stdout.strip().splitlines()[-1])
        print(
            f'| {record["model"]} | {record["input"]} | {record["attention"]} | {record["checkpointing"]} | '
            f'{record["seconds_per_iteration"]} ({record["forward_seconds"]} + '
            f'{record["backward_and_step_seconds"]}) | {record["memory_before_gib"]} -> '
            f'{record["peak_memory_gib"]} |',
            flush=True,
        )


def main(argv: list[str] | None = None) -> None:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.matrix:
        run_matrix(args.device)
        return
    print(json.dumps(benchmark(args)))


if __name__ == '__main__':
    main()
