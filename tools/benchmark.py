"""Training-step speed and memory of cae_mm's CAE against mmpretrain 1.2's own CAE, in one process.

Both models have the same architecture and the same weights (mmpretrain's, converted with
``tools/model_converters/checkpoint_layouts.py``), read the same DALL-E weights and train on the same batch
(a 224 px model view, a 112 px DALL-E view, 98 of 196 patches masked block-wise). A step is what a training iteration
costs once the batch is on the device: forward with the losses, backward, AdamW step (no data loading).

* **Speed**: the steps of the two models alternate (which one goes first alternates too), so a machine shared with
  other work slows both alike; after ``--warmup`` steps the median of ``--steps`` is reported, in wall-clock seconds
  and in process CPU seconds (all threads; less sensitive to other processes on the machine than wall-clock time).
* **Losses**: before each of mmpretrain's steps (outside the timing) its ``teacher`` is set to its current backbone,
  so that both models compute the same alignment target (mmpretrain's own update leaves the teacher one step behind;
  see ``tests/models/algorithms/test_parity_with_mmpretrain.py``). The losses of every step are printed side by side.
* **Peak memory**: one more step of each model runs under a dispatch-level tensor tracker: the bytes of the model's
  parameters, buffers (the DALL-E weights included) and optimizer state, plus the largest total of the tensors the step
  allocates that are alive at the same time (activations kept for the backward pass, gradients, temporaries). This
  counts every tensor torch allocates, identically for both models, and nothing else: the allocator's own overhead
  and the scratch buffers inside oneDNN/MKL kernels are not included. On a GPU it is
  ``torch.cuda.max_memory_allocated`` over the step, above what was allocated before it, plus the same state bytes.
* **Work**: ``torch.utils.flop_counter.FlopCounterMode`` counts one step of each model (forward, backward; matmuls,
  convolutions and attention, CPU flash attention included); achieved FLOP/s = counted FLOPs / median step time,
  compared with a 2048^3 matmul measured in the same run (fp32 on CPU; bf16 on a GPU, whose ratio is the MFU): the
  best of 3 repetitions before the first case and after every round of steps, so that the reference is the machine's
  best moment, not a moment when other work slowed it down.
* ``--end-to-end``: whole training iterations through mmengine's Runner with the real data pipelines on real photos
  (``--photos``, default ``../shared/data/tiny_imagenet_10/train``, 64 px photos that the crops upscale): cae_mm's
  ViT-B DALL-E config (two-view crop with a lanczos 112 px view, block-wise mask generator, data preprocessor) and
  mmpretrain's own ``cae_beit-base-p16_8xb256-amp-coslr-300e_in1k.py`` (fp32 on a CPU, its 75 masked patches), the
  same batch size and the same DALL-E weights file. Data loading runs in the training process (``num_workers=0``),
  so images/s is the whole iteration; separately, each pipeline's images/s on one core, and from the counted FLOPs
  per image the images/s an H100 would reach at 45% MFU and the pipeline cores it would need.
* ``--scaling``: the same measurements for ViT-B (``--sizes``) at 224, 320 and 448 px with half the patches masked,
  and at 224 px with 40, 50 and 60% masked (``--batch-size 2`` suits the time), plus a PNG plot.

mmpretrain's CAE has only the DALL-E target, so the pixel-target rows have cae_mm numbers only.

Examples:
    python tools/benchmark.py                                   # test to base, both targets, batch 8
    python tools/benchmark.py --sizes base --targets dalle      # the ViT-B / DALL-E comparison of docs/benchmark.md
    python tools/benchmark.py --sizes base --profile            # plus a torch.profiler table of one cae_mm step
    python tools/benchmark.py --sizes base --targets dalle --checkpointing   # also cae_mm with checkpointing
    python tools/benchmark.py --tokenizer-study                 # DALL-E precision/layout study on photographs
    python tools/benchmark.py --sizes base --targets dalle --batch-size 2 --steps 2 --scaling   # cost vs size/mask
    python tools/benchmark.py --end-to-end --batch-size 8 --steps 4      # tools/train.py-style iterations, real data
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import weakref
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any, Callable, Iterator, Literal, Optional, Union

import numpy as np
import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import FlopCounterMode, sdpa_backward_flop_count, sdpa_flop_count

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from mmengine.logging import MMLogger  # noqa: E402
from mmengine.registry import DefaultScope  # noqa: E402
from mmpretrain.registry import MODELS as MMPRETRAIN_MODELS  # noqa: E402
from mmpretrain.structures import DataSample  # noqa: E402

import cae_mm  # noqa: E402,F401  (registers cae_mm's modules)
from cae_mm.datasets import BlockwiseMaskGenerator  # noqa: E402
from cae_mm.registry import MODELS  # noqa: E402
from tools.model_converters.checkpoint_layouts import mmpretrain_to_cae_mm  # noqa: E402

VOCAB_SIZE = 8192
IMAGE_SIZE = 224
TOKENIZER_VIEW_SIZE = 112
SCALING_CASES = ((224, 0.5), (320, 0.5), (448, 0.5), (224, 0.4), (224, 0.6))
"""(model view side, masked fraction) of ``--scaling``; the DALL-E view is always half the side."""
PATCH_SIZE = 16
# Encoder width/depth/heads as cae_mm's arch zoo has them; regressor and decoder: 4 blocks each, as in the paper.
# Layer scale 0.1 (the base recipe's) unless given.
SIZES = {
    'test': dict(width=64, depth=2, heads=4, head_depth=1),
    'tiny': dict(width=192, depth=12, heads=12, head_depth=4),
    'small': dict(width=384, depth=12, heads=12, head_depth=4),
    'base': dict(width=768, depth=12, heads=12, head_depth=4),
    'large': dict(width=1024, depth=24, heads=16, head_depth=4, layer_scale=1e-5),  # the official large recipe's scale
}
DEFAULT_SIZES = ['test', 'tiny', 'small', 'base']
GIB = 2**30


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        '--sizes', nargs='+', choices=list(SIZES), default=DEFAULT_SIZES, help='encoder sizes (large: about 14 GiB)'
    )
    parser.add_argument('--targets', nargs='+', choices=['dalle', 'pixel'], default=['dalle', 'pixel'])
    parser.add_argument('--batch-size', type=int, default=8)
    parser.add_argument('--warmup', type=int, default=1, help='untimed steps of each model first')
    parser.add_argument('--steps', type=int, default=3, help='timed steps of each model')
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--precision', choices=['fp32', 'bf16'], help='default: fp32 on CPU, bf16 autocast on GPU')
    parser.add_argument('--tokenizer-hidden', type=int, default=256, help="DALL-E width (OpenAI's encoder: 256)")
    parser.add_argument(
        '--tokenizer-precision',
        choices=['auto', 'fp32', 'bf16_recompute', 'bf16'],
        default='auto',
        help="cae_mm's DALL-E precision (default auto: ids equal to fp32's; bf16: bf16 ids, as mmpretrain's in bf16)",
    )
    parser.add_argument('--threads', type=int, help="torch CPU threads (default: torch's choice)")
    parser.add_argument(
        '--checkpointing',
        action='store_true',
        help='also cae_mm with activation checkpointing in encoder, regressor and decoder',
    )
    parser.add_argument('--profile', action='store_true', help='torch.profiler table of one cae_mm step per case')
    parser.add_argument(
        '--tokenizer-study',
        action='store_true',
        help='DALL-E ids in fp32 / channels-last / bf16 / bf16 + fp32 recomputation on photographs, and their speed',
    )
    parser.add_argument('--image-size', type=int, default=IMAGE_SIZE, help='model view side (DALL-E view: half)')
    parser.add_argument('--mask-ratio', type=float, default=0.5, help='fraction of the patches masked')
    parser.add_argument(
        '--end-to-end',
        action='store_true',
        help="time whole Runner iterations (data pipeline included) of both models' ViT-B configs",
    )
    parser.add_argument(
        '--photos',
        type=Path,
        default=REPO_ROOT.parent / 'shared' / 'data' / 'tiny_imagenet_10' / 'train',
        help='image folder (searched recursively) for --end-to-end',
    )
    parser.add_argument(
        '--scaling',
        action='store_true',
        help=f'run every (image size, mask ratio) of {SCALING_CASES} and plot time and memory',
    )
    parser.add_argument('--output', type=Path, default=REPO_ROOT / 'work_dirs' / 'benchmark' / 'benchmark.json')
    args = parser.parse_args(argv)
    args.precision = args.precision or ('bf16' if args.device.startswith('cuda') else 'fp32')
    return args


# ----------------------------------------------------------------------------------------------------------------------
# Models and data


def num_masked(args: argparse.Namespace) -> int:
    """Masked patches per image: ``mask_ratio`` of the grid (98 of 196 at 224 px and one half)."""
    return round(args.mask_ratio * (args.image_size // PATCH_SIZE) ** 2)


def mmpretrain_config(
    width: int,
    depth: int,
    heads: int,
    head_depth: int,
    tokenizer_hidden: int,
    num_masked: int,
    tokenizer_file: Optional[Union[str, Path]] = None,
    patch_size: int = PATCH_SIZE,
    image_size: int = IMAGE_SIZE,
    layer_scale: float = 0.1,
) -> dict:
    """mmpretrain's CAE (its ``cae_beit-base-p16_8xb256-amp-coslr-300e_in1k.py``) at the given size.

    The DALL-E weights come from ``tokenizer_file`` through mmpretrain's own ``init_cfg`` (random if None).
    """
    tokenizer_init = dict(type='Pretrained', checkpoint=str(tokenizer_file)) if tokenizer_file else None
    return dict(
        type='CAE',
        backbone=dict(
            type='CAEPretrainViT',
            arch=dict(embed_dims=width, num_layers=depth, num_heads=heads, feedforward_channels=4 * width),
            img_size=image_size,
            patch_size=patch_size,
            layer_scale_init_value=layer_scale,
            bias='qv_bias',
        ),
        neck=dict(
            type='CAENeck',
            num_classes=VOCAB_SIZE,
            embed_dims=width,
            num_heads=heads,
            regressor_depth=head_depth,
            decoder_depth=head_depth,
            mlp_ratio=4,
            layer_scale_init_value=layer_scale,
            mask_tokens_num=num_masked,
        ),
        head=dict(type='CAEHead', loss=dict(type='CAELoss', lambd=2)),
        target_generator=dict(type='DALL-E', n_hid=tokenizer_hidden, vocab_size=VOCAB_SIZE, init_cfg=tokenizer_init),
        base_momentum=0.0,
    )


def cae_mm_config(
    width: int,
    depth: int,
    heads: int,
    head_depth: int,
    tokenizer_hidden: int,
    target: Literal['dalle', 'pixel'] = 'dalle',
    dalle_weights: Optional[Union[str, dict]] = None,
    patch_size: int = PATCH_SIZE,
    layer_scale: float = 0.1,
    checkpointing: bool = False,
    tokenizer_precision: str = 'auto',
) -> dict:
    """cae_mm's CAE of the same size: drop path 0, DALL-E (weights from ``dalle_weights``, a file or a state dict;
    random if None; ``tokenizer_precision`` as ``DALLETokenizer``'s ``precision``) or normalised-pixel target."""
    if target == 'dalle':
        target_generator = dict(
            type='cae_mm.DALLETokenizer',
            checkpoint=dalle_weights,
            hidden_dims=tokenizer_hidden,
            precision=tokenizer_precision,
        )
        out_dims, reconstruction_loss = VOCAB_SIZE, 'cross_entropy'
    else:
        target_generator = dict(type='cae_mm.NormalizedPixelTarget', patch_size=patch_size)
        out_dims, reconstruction_loss = patch_size * patch_size * 3, 'mse'
    regressor_and_decoder = dict(
        embed_dims=width,
        depth=head_depth,
        num_heads=heads,
        layer_scale_init_value=layer_scale,
        with_checkpoint=checkpointing,
    )
    return dict(
        type='cae_mm.CAE',
        backbone=dict(
            type='cae_mm.CAEVisionTransformer',
            arch=dict(embed_dims=width, num_layers=depth, num_heads=heads, layer_scale_init_value=layer_scale),
            patch_size=patch_size,
            with_checkpoint=checkpointing,
        ),
        neck=dict(type='cae_mm.LatentContextRegressor', **regressor_and_decoder),
        head=dict(
            type='cae_mm.CAEDecoderHead',
            out_dims=out_dims,
            reconstruction_loss=reconstruction_loss,
            **regressor_and_decoder,
        ),
        target_generator=target_generator,
    )


CHECKPOINTING = 'cae_mm + checkpointing'


def build_models(size: str, target: str, args: argparse.Namespace) -> dict[str, torch.nn.Module]:
    """``cae_mm``, with ``--checkpointing`` also ``cae_mm + checkpointing``, and for DALL-E targets ``mmpretrain``.

    All with identical weights: mmpretrain's initial ones, converted (the pixel predictor, which has another output
    size than the token classifier, keeps cae_mm's initialisation).
    """
    settings = SIZES[size]
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        reference = MMPRETRAIN_MODELS.build(
            mmpretrain_config(
                **settings,
                tokenizer_hidden=args.tokenizer_hidden,
                image_size=args.image_size,
                num_masked=num_masked(args),
            )
        )
        reference.init_weights()  # also copies the backbone into the teacher
    dalle_weights = {key: value.clone() for key, value in reference.target_generator.state_dict().items()}
    converted = mmpretrain_to_cae_mm(reference.state_dict())
    variants = {'cae_mm': False, **({CHECKPOINTING: True} if args.checkpointing else {})}
    models: dict[str, torch.nn.Module] = {}
    for name, checkpointing in variants.items():
        model = MODELS.build(
            cae_mm_config(
                **settings,
                target=target,
                tokenizer_hidden=args.tokenizer_hidden,
                dalle_weights=dalle_weights if target == 'dalle' else None,
                checkpointing=checkpointing,
                tokenizer_precision=args.tokenizer_precision,
            )
        )
        if models:
            model.load_state_dict(models['cae_mm'].state_dict())
        elif target == 'pixel':
            loaded = model.load_state_dict(
                {key: value for key, value in converted.items() if not key.startswith('head.predictor.')}, strict=False
            )
            if set(loaded.missing_keys) != {'head.predictor.weight', 'head.predictor.bias'} or loaded.unexpected_keys:
                raise RuntimeError(
                    f'converted weights do not fit the pixel-target model: missing '
                    f'{loaded.missing_keys}, unexpected {loaded.unexpected_keys}'
                )
        else:
            model.load_state_dict(converted)
        models[name] = model.to(args.device)
    if target == 'dalle':
        models['mmpretrain'] = reference.to(args.device)
    return models


def make_batch(
    batch_size: int, target: str, device: str, image_size: int = IMAGE_SIZE, masked: int = 98, seed: int = 0
) -> tuple[list[torch.Tensor], list[DataSample]]:
    """Inputs and block-wise masks.

    Returns:
        ``[model view (B, 3, S, S), DALL-E view (B, 3, S/2, S/2) in [0.1, 0.9]]`` for the DALL-E target, the model
        view alone for pixels (their target); one ``DataSample`` with a ``(S/16, S/16)`` mask per image.
    """
    generator = torch.Generator().manual_seed(seed)
    images = torch.randn(batch_size, 3, image_size, image_size, generator=generator)
    tokenizer_view = 0.1 + 0.8 * torch.rand(batch_size, 3, image_size // 2, image_size // 2, generator=generator)
    np.random.seed(seed)
    grid = image_size // PATCH_SIZE
    mask_generator = BlockwiseMaskGenerator(masked, patch_size=PATCH_SIZE, min_patches_per_block=16)
    samples = [
        DataSample().set_mask(torch.from_numpy(mask_generator.generate((grid, grid))).to(device))
        for _ in range(batch_size)
    ]
    views = [images, tokenizer_view] if target == 'dalle' else [images]
    return [view.to(device) for view in views], samples


def total_loss(name: str, losses: dict[str, torch.Tensor]) -> torch.Tensor:
    """mmpretrain returns ``loss`` (= main + align) besides its parts; cae_mm returns the parts."""
    return losses['loss'] if name == 'mmpretrain' else sum(losses.values())


class Trainer:
    """One model, its AdamW optimizer and the step: forward + losses, backward, optimizer step.

    Each model's AdamW is the one its own configs build: mmengine's default for mmpretrain, and for cae_mm on a CPU
    the fused kernel (``cae_mm.LayerDecayOptimWrapperConstructor``), whose updates differ in the last bits only.
    """

    def __init__(self, name: str, model: torch.nn.Module, precision: str, device: str) -> None:
        self.name = name
        self.model = model.train()
        fused = {'fused': True} if name != 'mmpretrain' and torch.device(device).type == 'cpu' else {}
        self.optimizer = torch.optim.AdamW(
            [parameter for parameter in model.parameters() if parameter.requires_grad],
            lr=1e-4,
            weight_decay=0.05,
            **fused,
        )
        self.autocast = (
            torch.autocast(device_type=torch.device(device).type, dtype=torch.bfloat16)
            if precision == 'bf16'
            else nullcontext()
        )

    def prepare(self) -> None:
        """Outside the timing: mmpretrain's teacher takes the current backbone weights, so that its alignment target
        uses the current weights, as cae_mm's does."""
        if self.name == 'mmpretrain':
            with torch.no_grad():
                for backbone_parameter, teacher_parameter in zip(
                    self.model.backbone.parameters(), self.model.teacher.parameters()
                ):
                    teacher_parameter.copy_(backbone_parameter)

    def step(
        self, inputs: list[torch.Tensor], samples: list[DataSample], timer: Optional['PhaseTimer'] = None
    ) -> float:
        """Run one training step; return the total loss. ``timer`` times the backward pass and the optimizer."""
        measure = timer.measure if timer is not None else lambda label: nullcontext()
        with self.autocast:
            loss = total_loss(self.name, self.model.loss(inputs, samples))
        with measure('backward'):
            loss.backward()
        with measure('optimizer step'):
            self.optimizer.step()
            self.optimizer.zero_grad(set_to_none=True)
        return float(loss.detach())

    def state_tensors(self) -> list[torch.Tensor]:
        """Parameters, buffers and optimizer state: what the model holds between steps."""
        tensors = list(self.model.parameters()) + list(self.model.buffers())
        return tensors + [
            value
            for state in self.optimizer.state.values()
            for value in state.values()
            if isinstance(value, torch.Tensor)
        ]

    def state_bytes(self) -> int:
        """Bytes of :meth:`state_tensors` (each storage once)."""
        storages = {
            tensor.untyped_storage().data_ptr(): tensor.untyped_storage().nbytes() for tensor in self.state_tensors()
        }
        return sum(storages.values())


# ----------------------------------------------------------------------------------------------------------------------
# Measurements


def synchronize(device: str) -> None:
    if device.startswith('cuda'):
        torch.cuda.synchronize()


class LiveTensorBytes(TorchDispatchMode):
    """Counts the bytes of the tensors allocated while active that are still alive, and their peak.

    A storage is counted when an operation first returns it and uncounted when it is freed (a weak-reference callback
    on the storage), so views and in-place results cost nothing and a tensor freed mid-step gives its bytes back.
    Storages that existed before (``existing``: parameters, buffers, optimizer state, inputs) are never counted,
    however often an operation returns them (a weight's transpose, an in-place update).

    Args:
        existing: tensors alive before the tracking starts.
    """

    def __init__(self, existing: list[torch.Tensor]) -> None:
        super().__init__()
        self.live_bytes = 0
        self.peak_bytes = 0
        self._counted: dict[int, int] = {}
        self._existing = {tensor.untyped_storage().data_ptr() for tensor in existing}

    def _release(self, key: int) -> None:
        self.live_bytes -= self._counted.pop(key, 0)

    def _count(self, tensor: torch.Tensor) -> None:
        if not isinstance(tensor, torch.Tensor) or tensor.device.type == 'meta':
            return
        storage = tensor.untyped_storage()
        key, size = storage.data_ptr(), storage.nbytes()
        if size == 0 or key in self._counted or key in self._existing:
            return
        self._counted[key] = size
        self.live_bytes += size
        self.peak_bytes = max(self.peak_bytes, self.live_bytes)
        weakref.finalize(storage, self._release, key)

    def __torch_dispatch__(self, func: Any, types: Any, args: tuple = (), kwargs: Optional[dict] = None) -> Any:
        output = func(*args, **(kwargs or {}))
        for tensor in torch.utils._pytree.tree_leaves(output):
            self._count(tensor)
        return output


def peak_step_memory(trainer: Trainer, inputs: list[torch.Tensor], samples: list[DataSample], device: str) -> dict:
    """Model state bytes and the peak of state + tensors alive during one step (see the module docstring)."""
    trainer.prepare()
    state = trainer.state_bytes()
    if device.startswith('cuda'):
        synchronize(device)
        before = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
        trainer.step(inputs, samples)
        synchronize(device)
        step_peak = torch.cuda.max_memory_allocated() - before
    else:
        inputs_and_masks = inputs + [sample.mask for sample in samples]
        tracker = LiveTensorBytes(trainer.state_tensors() + inputs_and_masks)
        with tracker:
            trainer.step(inputs, samples)
        step_peak = tracker.peak_bytes
    return dict(state_bytes=state, peak_bytes=state + step_peak)


CPU_FLASH_ATTENTION_FLOPS = {
    torch.ops.aten._scaled_dot_product_flash_attention_for_cpu: lambda query, key, value, *args, out_shape=None, **kwargs: (
        sdpa_flop_count(query, key, value)
    ),
    torch.ops.aten._scaled_dot_product_flash_attention_for_cpu_backward: lambda grad_out, query, key, value, *args, out_shape=None, **kwargs: (
        sdpa_backward_flop_count(grad_out, query, key, value)
    ),
}
"""torch's FLOP counter knows the GPU attention kernels only; the CPU flash kernel does the same work."""


def count_step_flops(trainer: Trainer, inputs: list[torch.Tensor], samples: list[DataSample]) -> int:
    """FLOPs of one step (forward + backward; the optimizer's elementwise work is not counted)."""
    trainer.prepare()
    counter = FlopCounterMode(display=False, custom_mapping=CPU_FLASH_ATTENTION_FLOPS)
    with counter:
        trainer.step(inputs, samples)
    return counter.get_total_flops()


class MatmulReference:
    """The best FLOP/s of a 2048^3 matmul seen during the run: sampled before the first case and after every round
    of steps (a single measurement at a loaded moment once made the models look faster than 100% of it)."""

    def __init__(self, device: str, dtype: torch.dtype) -> None:
        self.device, self.dtype = device, dtype
        self.samples: list[float] = []

    def sample(self) -> float:
        self.samples.append(matmul_rate(self.device, self.dtype, repeats=3))
        return self.samples[-1]

    @property
    def best(self) -> float:
        return max(self.samples)


def matmul_rate(device: str, dtype: torch.dtype, size: int = 2048, repeats: int = 5) -> float:
    """Best FLOP/s of ``repeats`` ``size^3`` matmuls on this device, in ``dtype`` (after one untimed)."""
    generator = torch.Generator().manual_seed(0)
    left = torch.randn(size, size, generator=generator).to(device=device, dtype=dtype)
    right = torch.randn(size, size, generator=generator).to(device=device, dtype=dtype)
    left @ right
    best = float('inf')
    for _ in range(repeats):
        synchronize(device)
        started = time.perf_counter()
        left @ right
        synchronize(device)
        best = min(best, time.perf_counter() - started)
    return 2 * size**3 / best


class PhaseTimer:
    """Wall-clock seconds per phase of a step; a phase inside another is counted once, in the inner one."""

    def __init__(self, device: str) -> None:
        self.device = device
        self.seconds: dict[str, float] = {}
        self._inner_seconds: list[float] = []

    @contextmanager
    def measure(self, label: str) -> Iterator[None]:
        """Add the time spent in the block, less that of phases measured inside it, to ``label``."""
        synchronize(self.device)
        started = time.perf_counter()
        self._inner_seconds.append(0.0)
        try:
            yield
        finally:
            synchronize(self.device)
            elapsed = time.perf_counter() - started
            inner = self._inner_seconds.pop()
            self.seconds[label] = self.seconds.get(label, 0.0) + elapsed - inner
            if self._inner_seconds:
                self._inner_seconds[-1] += elapsed

    @contextmanager
    def wrap(self, phases: list[tuple[object, str, Callable[[], str]]]) -> Iterator['PhaseTimer']:
        """``phases``: ``(owner, method name, label())``; the label is read at call time (e.g. grad or no grad)."""
        wrapped = []
        for owner, method, label in phases:
            original = getattr(owner, method)

            def timed(*args, _original=original, _label=label, **kwargs):
                with self.measure(_label()):
                    return _original(*args, **kwargs)

            setattr(owner, method, timed)
            wrapped.append((owner, method))
        try:
            yield self
        finally:
            for owner, method in wrapped:
                delattr(owner, method)  # back to the class's method


def model_phases(name: str, model: torch.nn.Module) -> list[tuple[object, str, Callable[[], str]]]:
    """Where each model spends its forward pass, in comparable pieces."""
    if name == 'mmpretrain':
        return [
            (model.target_generator, 'forward', lambda: 'tokenizer'),
            (model.backbone, 'forward', lambda: 'encoder, visible patches'),
            (model.teacher, 'forward', lambda: 'encoder, alignment target (no grad)'),
            (model.neck, 'forward', lambda: 'regressor + decoder'),
            (model.head, 'loss', lambda: 'losses'),
        ]

    def encoder_label() -> str:
        return 'encoder, visible patches' if torch.is_grad_enabled() else 'encoder, alignment target (no grad)'

    return [
        (model.target_generator, 'forward', lambda: 'tokenizer'),
        (model.backbone, 'forward_encoder', encoder_label),
        (model.neck, 'forward', lambda: 'regressor + decoder'),
        (model.head, 'forward', lambda: 'regressor + decoder'),  # inside head.loss: counted here, not there
        (model.head, 'loss', lambda: 'losses'),
    ]


def profile_table(trainer: Trainer, inputs: list[torch.Tensor], samples: list[DataSample], rows: int = 15) -> str:
    """torch.profiler's top operators (self CPU time) of one step."""
    from torch.profiler import ProfilerActivity, profile

    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if torch.cuda.is_available() else [])
    with profile(activities=activities, record_shapes=False) as profiler:
        trainer.step(inputs, samples)
    sort_by = 'self_cuda_time_total' if torch.cuda.is_available() else 'self_cpu_time_total'
    return profiler.key_averages().table(sort_by=sort_by, row_limit=rows, max_name_column_width=48)


# ----------------------------------------------------------------------------------------------------------------------
# One benchmark case


def run_case(size: str, target: str, args: argparse.Namespace, matmul: MatmulReference) -> list[dict]:
    """Benchmark one (size, target): records for cae_mm and, for DALL-E targets, mmpretrain.

    Their ``fraction_of_matmul_rate`` is set by :func:`set_matmul_fractions` once the whole run has sampled the
    matmul rate.
    """
    models = build_models(size, target, args)
    trainers = [Trainer(name, model, args.precision, args.device) for name, model in models.items()]
    inputs, samples = make_batch(args.batch_size, target, args.device, args.image_size, num_masked(args))
    step_seconds = {trainer.name: [] for trainer in trainers}
    cpu_seconds = {trainer.name: [] for trainer in trainers}
    losses = {trainer.name: [] for trainer in trainers}
    phase_timers = {trainer.name: PhaseTimer(args.device) for trainer in trainers}
    for step in range(args.warmup + args.steps):
        order = trainers if step % 2 == 0 else trainers[::-1]
        for trainer in order:
            trainer.prepare()
            timed = step >= args.warmup
            timer = phase_timers[trainer.name] if timed else None
            with phase_timers[trainer.name].wrap(model_phases(trainer.name, trainer.model) if timed else []):
                synchronize(args.device)
                wall_started, cpu_started = time.perf_counter(), time.process_time()
                loss = trainer.step(inputs, samples, timer)
                synchronize(args.device)
                wall, cpu = time.perf_counter() - wall_started, time.process_time() - cpu_started
            losses[trainer.name].append(loss)
            if timed:
                step_seconds[trainer.name].append(wall)
                cpu_seconds[trainer.name].append(cpu)
        matmul.sample()
    records = []
    for trainer in trainers:
        memory = peak_step_memory(trainer, inputs, samples, args.device)
        flops = count_step_flops(trainer, inputs, samples)
        median = statistics.median(step_seconds[trainer.name])
        phases = {name: seconds / args.steps for name, seconds in phase_timers[trainer.name].seconds.items()}
        records.append(
            dict(
                size=size,
                target=target,
                model=trainer.name,
                batch_size=args.batch_size,
                precision=args.precision,
                device=args.device,
                checkpointing=trainer.name == CHECKPOINTING,
                image_size=args.image_size,
                num_masked=num_masked(args),
                step_seconds=median,
                step_seconds_all=step_seconds[trainer.name],
                cpu_seconds=statistics.median(cpu_seconds[trainer.name]),
                images_per_second=args.batch_size / median,
                state_bytes=memory['state_bytes'],
                peak_bytes=memory['peak_bytes'],
                flops_per_step=flops,
                achieved_flops_per_second=flops / median,
                losses=losses[trainer.name],
                phase_seconds=phases,
            )
        )
    if args.profile:
        ours = next(trainer for trainer in trainers if trainer.name == 'cae_mm')
        records[0]['profile'] = profile_table(ours, inputs, samples)  # records[0] is cae_mm's
    return records


def set_matmul_fractions(records: list[dict], matmul: MatmulReference) -> None:
    """Achieved FLOP/s of every record over the best matmul rate of the whole run."""
    for record in records:
        record['fraction_of_matmul_rate'] = record['achieved_flops_per_second'] / matmul.best


# ----------------------------------------------------------------------------------------------------------------------
# DALL-E precision and layout study on real photographs


def demo_photograph_views(size: int = TOKENIZER_VIEW_SIZE) -> torch.Tensor:
    """The demo photographs as DALL-E views: two square crops of each (opposite corners), ``map_pixels`` applied.

    Returns:
        ``(2 * photographs, 3, size, size)`` float32 in [0.1, 0.9].
    """
    from PIL import Image

    from tools.data.demo_images import find_source_photographs

    views = []
    for _, path in find_source_photographs():
        with Image.open(path) as image:
            image = image.convert('RGB')
            width, height = image.size
            side = min(width, height)
            for left, top in ((0, 0), (width - side, height - side)):
                crop = image.crop((left, top, left + side, top + side)).resize((size, size), Image.BICUBIC)
                views.append(np.asarray(crop))
    pixels = torch.from_numpy(np.stack(views)).permute(0, 3, 1, 2).float() / 255  # (N, 3, size, size)
    return 0.1 + 0.8 * pixels


def shared_photograph_views(size: int = TOKENIZER_VIEW_SIZE, per_set: int = 24) -> torch.Tensor:
    """Photographs of ``../shared/data`` (tiny_imagenet_10 upscaled, coco128 downscaled), if that folder is there.

    Returns:
        ``(N, 3, size, size)`` float32 in [0.1, 0.9], lanczos-resized, ``map_pixels`` applied; N may be 0.
    """
    from PIL import Image

    root = REPO_ROOT.parent / 'shared' / 'data'
    views = []
    for pattern in ('tiny_imagenet_10/train/*/*.JPEG', 'coco128/images/train/*.jpg'):
        paths = sorted(root.glob(pattern))
        for path in paths[:: max(1, len(paths) // per_set)][:per_set]:
            with Image.open(path) as image:
                views.append(np.asarray(image.convert('RGB').resize((size, size), Image.LANCZOS)))
    if not views:
        return torch.empty(0, 3, size, size)
    return 0.1 + 0.8 * torch.from_numpy(np.stack(views)).permute(0, 3, 1, 2).float() / 255


def tokenizer_study(args: argparse.Namespace) -> dict:
    """ids of the demo photographs under each variant against fp32 (cae_mm's choice), and seconds per batch."""
    from mmpretrain.models.selfsup.cae import DALLEEncoder

    from cae_mm.models.targets import DALLETokenizer

    torch.manual_seed(0)
    reference = DALLEEncoder(n_hid=args.tokenizer_hidden, vocab_size=VOCAB_SIZE).eval()
    weights = {key: value.clone() for key, value in reference.state_dict().items()}
    tokenizer = DALLETokenizer(weights, hidden_dims=args.tokenizer_hidden, precision='fp32')
    channels_last = DALLETokenizer(weights, hidden_dims=args.tokenizer_hidden, precision='fp32').to(
        memory_format=torch.channels_last
    )
    recomputing = DALLETokenizer(weights, hidden_dims=args.tokenizer_hidden, precision='bf16_recompute')
    bf16 = DALLETokenizer(weights, hidden_dims=args.tokenizer_hidden, precision='bf16')
    demo_views, shared_views = demo_photograph_views(), shared_photograph_views()
    views = torch.cat([demo_views, shared_views]).contiguous()  # NCHW, as the data preprocessor gives them
    batch = views[: args.batch_size]

    def bf16_logits(images: torch.Tensor) -> torch.Tensor:
        with torch.autocast('cpu', dtype=torch.bfloat16):
            return tokenizer.blocks(images).float()

    variants = {
        'mmpretrain DALLEEncoder, fp32': reference,
        'cae_mm DALLETokenizer, fp32, one pass': tokenizer.logits,
        # ids (B, h*w): on a CPU the fp32 ids are computed two images at a time (FrozenTokenizer)
        'cae_mm, fp32 ids two images at a time (used)': tokenizer.token_ids,
        'cae_mm, fp32 channels-last': lambda images: channels_last.logits(
            images.contiguous(memory_format=torch.channels_last)
        ),
        'cae_mm, bf16 autocast': bf16_logits,
        # ids (B, h*w): bf16 logits from a channels-last batch
        "cae_mm, bf16 autocast channels-last (precision='bf16')": bf16.token_ids,
        # ids (B, h*w), not logits: images with a near tie are recomputed in fp32 (FrozenTokenizer)
        'cae_mm, bf16 + fp32 recomputation': recomputing.token_ids,
    }
    results = {}
    with torch.no_grad():
        exact = torch.cat([tokenizer.logits(chunk) for chunk in views.split(args.batch_size)])  # (N, V, h, w)
        top_two = exact.topk(2, dim=1).values
        smallest_gap = float((top_two[:, 0] - top_two[:, 1]).min())
        seconds = {name: [] for name in variants}
        for _ in range(3):
            for name, logits in variants.items():
                started = time.perf_counter()
                logits(batch)
                seconds[name].append(time.perf_counter() - started)
        exact_ids = exact.argmax(1).flatten(1)  # (N, h*w)
        recomputing.recompute_stats.update(images=0, recomputed=0)
        for name, logits in variants.items():
            output = torch.cat([logits(chunk) for chunk in views.split(args.batch_size)])
            ids = output if output.dim() == 2 else output.argmax(1).flatten(1)
            results[name] = dict(
                seconds_per_batch=statistics.median(seconds[name]),
                max_logit_difference=float((output - exact).abs().max()) if output.dim() == 4 else None,
                id_agreement=float((ids == exact_ids).double().mean()),
            )
        stats = recomputing.recompute_stats
        results['cae_mm, bf16 + fp32 recomputation']['recomputed_images'] = stats['recomputed'] / stats['images']
    return dict(
        demo_photographs=len(demo_views) // 2,
        shared_photographs=len(shared_views),
        views=len(views),
        tokens=views.shape[0] * (TOKENIZER_VIEW_SIZE // 8) ** 2,
        batch_size=args.batch_size,
        smallest_top_two_gap=smallest_gap,
        variants=results,
        note='random DALL-E weights (no download): the agreement of trained weights may differ',
    )


# ----------------------------------------------------------------------------------------------------------------------
# Whole training iterations (--end-to-end)

H100_BF16_DENSE_FLOPS = 989e12
"""H100 SXM dense bf16 peak; the projection takes 45% of it (MFU) as the rate a well-tuned ViT-B run reaches."""
MMPRETRAIN_CAE_CONFIG = 'cae/cae_beit-base-p16_8xb256-amp-coslr-300e_in1k.py'
CAE_MM_CONFIG = REPO_ROOT / 'configs' / 'cae' / 'cae_vit-base-p16_32xb64-dalle-300e_in1k.py'


def end_to_end_config(name: str, args: argparse.Namespace, weights_file: Path, work_dir: Path) -> Any:
    """The model's own ViT-B DALL-E training config, pointed at ``args.photos`` and ``weights_file``, for
    ``args.warmup + args.steps`` iterations of ``args.batch_size`` images with data loading in the process."""
    import mmpretrain
    from mmengine.config import Config

    if name == 'mmpretrain':
        cfg = Config.fromfile(Path(mmpretrain.__file__).parent / '.mim' / 'configs' / MMPRETRAIN_CAE_CONFIG)
        cfg.model.target_generator.init_cfg.checkpoint = str(weights_file)
        cfg.model.target_generator.n_hid = args.tokenizer_hidden
        if not torch.cuda.is_available():  # AmpOptimWrapper needs CUDA; optimizer, clipping and rules are kept
            cfg.optim_wrapper = dict(
                type='OptimWrapper',
                optimizer=cfg.optim_wrapper.optimizer,
                clip_grad=cfg.optim_wrapper.clip_grad,
                paramwise_cfg=cfg.optim_wrapper.paramwise_cfg,
            )
    else:
        cfg = Config.fromfile(CAE_MM_CONFIG)
        cfg.model.target_generator.checkpoint = str(weights_file)
        cfg.model.target_generator.hidden_dims = args.tokenizer_hidden
        cfg.custom_hooks = []
        if torch.cuda.is_available():  # the same mixed precision as mmpretrain's config
            cfg.optim_wrapper.update(type='AmpOptimWrapper', loss_scale='dynamic')
    pipeline = cfg.train_dataloader.dataset.pipeline
    cfg.train_dataloader = dict(
        batch_size=args.batch_size,
        num_workers=0,
        persistent_workers=False,
        sampler=dict(type='InfiniteSampler', shuffle=True),
        collate_fn=dict(type='default_collate'),
        dataset=dict(type='CustomDataset', data_root=str(args.photos), with_label=False, pipeline=pipeline),
    )
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=args.warmup + args.steps)
    cfg.param_scheduler = []
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=10**6)
    cfg.default_hooks.checkpoint = None
    cfg.env_cfg = dict(
        cudnn_benchmark=False, mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0), dist_cfg=dict(backend='gloo')
    )
    cfg.launcher = 'none'
    cfg.work_dir = str(work_dir / name)
    cfg.randomness = dict(seed=0)
    return cfg


def pipeline_images_per_second(cfg: Any, count: int = 40) -> float:
    """Images/s of the config's training pipeline (read, crops, mask, pack) on one core, in this process."""
    from mmpretrain.registry import DATASETS

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with DefaultScope.overwrite_default_scope('mmpretrain'):
            dataset = DATASETS.build(cfg.train_dataloader.dataset)
        dataset[0]
        started = time.process_time()
        for index in range(1, count + 1):
            dataset[index % len(dataset)]
        return count / (time.process_time() - started)
    finally:
        torch.set_num_threads(threads)


def train_iterations(cfg: Any) -> tuple[list[float], Any, dict]:
    """Run the config's Runner; return the wall seconds of every iteration (data loading included), the runner and
    the last data batch."""
    from mmengine.hooks import Hook
    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner

    class IterationClock(Hook):
        priority = 'VERY_LOW'

        def __init__(self) -> None:
            self.stamps = [time.perf_counter()]
            self.last_batch = None

        def before_train(self, runner) -> None:
            self.stamps = [time.perf_counter()]

        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
            self.stamps.append(time.perf_counter())
            self.last_batch = data_batch

    runner = RUNNERS.build(cfg) if 'runner_type' in cfg else Runner.from_cfg(cfg)
    clock = IterationClock()
    runner.register_hook(clock)
    runner.train()
    return [after - before for before, after in zip(clock.stamps, clock.stamps[1:])], runner, clock.last_batch


def flops_per_image(name: str, runner: Any, data_batch: dict) -> float:
    """Counted FLOPs of one training iteration (forward, backward) divided by the batch size."""
    model = runner.model
    data = model.data_preprocessor(data_batch, True)
    counter = FlopCounterMode(display=False, custom_mapping=CPU_FLASH_ATTENTION_FLOPS)
    with counter:
        total_loss(name, model(**data, mode='loss')).backward()
    model.zero_grad(set_to_none=True)
    return counter.get_total_flops() / len(data_batch['data_samples'])  # 'inputs' is a list of views


def end_to_end(args: argparse.Namespace) -> dict:
    """Both models' ViT-B configs through the Runner on the same photos and DALL-E weights file."""
    import tempfile

    from mmpretrain.models.selfsup.cae import DALLEEncoder

    if not any(args.photos.rglob('*.*')):
        raise FileNotFoundError(f'--photos {args.photos} holds no images')
    results: dict[str, Any] = dict(
        photos=str(args.photos), batch_size=args.batch_size, warmup=args.warmup, steps=args.steps
    )
    with tempfile.TemporaryDirectory() as work_dir:
        work_dir = Path(work_dir)
        torch.manual_seed(0)
        weights_file = work_dir / 'dalle_encoder.pth'
        torch.save(DALLEEncoder(n_hid=args.tokenizer_hidden, vocab_size=VOCAB_SIZE).state_dict(), weights_file)
        configs = {name: end_to_end_config(name, args, weights_file, work_dir) for name in ('cae_mm', 'mmpretrain')}
        for name, cfg in configs.items():
            per_core = pipeline_images_per_second(cfg)
            seconds, runner, batch = train_iterations(cfg)
            timed = seconds[args.warmup :]
            flops = flops_per_image(name, runner, batch)
            projected = 0.45 * H100_BF16_DENSE_FLOPS / flops
            results[name] = dict(
                iteration_seconds=seconds,
                images_per_second=args.batch_size / statistics.median(timed),
                pipeline_images_per_second_per_core=per_core,
                gflops_per_image=flops / 1e9,
                h100_images_per_second_at_45_percent_mfu=projected,
                pipeline_cores_per_h100=projected / per_core,
            )
            print(
                f'{name}: {results[name]["images_per_second"]:.2f} images/s end to end (iterations '
                f'{", ".join(f"{value:.2f}" for value in seconds)} s); pipeline {per_core:.1f} images/s per core; '
                f'{flops / 1e9:.0f} GFLOP/image -> H100 at 45% MFU {projected:.0f} images/s, '
                f'{projected / per_core:.0f} pipeline cores per GPU',
                flush=True,
            )
            del runner
    results['speed_ratio'] = results['cae_mm']['images_per_second'] / results['mmpretrain']['images_per_second']
    return results


# ----------------------------------------------------------------------------------------------------------------------
# Reporting


def machine_description(device: str) -> dict:
    model = platform.processor()
    try:
        lscpu = subprocess.run(['lscpu'], capture_output=True, text=True, check=True).stdout
        model = next(line.split(':', 1)[1].strip() for line in lscpu.splitlines() if line.startswith('Model name'))
    except (OSError, subprocess.CalledProcessError, StopIteration):
        pass
    description = dict(
        cpu=model,
        logical_cpus=os.cpu_count(),
        torch_threads=torch.get_num_threads(),
        torch=torch.__version__,
        load_average_at_start=list(os.getloadavg()),
    )
    if device.startswith('cuda'):
        description['gpu'] = torch.cuda.get_device_name()
    return description


def summary_table(records: list[dict]) -> str:
    """Markdown table; ratios compare cae_mm with mmpretrain in the same case."""
    header = (
        '| size | target | model | s/step (median) | CPU s/step | images/s | peak memory (GiB) | state (GiB) | '
        'GFLOP/step | achieved GFLOP/s | of matmul rate | first-step loss | speed ratio | memory ratio |'
    )
    lines = [header, '|' + '---|' * 14]
    reference = {case_of(record): record for record in records if record['model'] == 'mmpretrain'}
    for record in records:
        mmpretrain = reference.get(case_of(record))
        speed = memory = '-'
        if record['model'] != 'mmpretrain' and mmpretrain is not None:
            speed = f'{mmpretrain["step_seconds"] / record["step_seconds"]:.2f}x'
            memory = f'{record["peak_bytes"] / mmpretrain["peak_bytes"]:.2f}x'
        lines.append(
            f'| {record["size"]} | {record["target"]} | {record["model"]} | {record["step_seconds"]:.2f} | '
            f'{record["cpu_seconds"]:.2f} | {record["images_per_second"]:.2f} | {record["peak_bytes"] / GIB:.2f} | '
            f'{record["state_bytes"] / GIB:.2f} | {record["flops_per_step"] / 1e9:.0f} | '
            f'{record["achieved_flops_per_second"] / 1e9:.0f} | {100 * record["fraction_of_matmul_rate"]:.0f}% | '
            f'{record["losses"][0]:.6f} | {speed} | {memory} |'
        )
    return '\n'.join(lines)


def case_of(record: dict) -> tuple:
    """What two records must share to be compared: size, target, image size and masked patches."""
    return record['size'], record['target'], record['image_size'], record['num_masked']


def scaling_table(records: list[dict]) -> str:
    """Markdown table of ``--scaling``: time and peak memory per case, per model."""
    lines = [
        '| image size | tokens (visible + masked) | model | s/step | images/s | peak GiB | peak - state GiB |',
        '|---|---|---|---|---|---|---|',
    ]
    for record in records:
        tokens = (record['image_size'] // PATCH_SIZE) ** 2
        lines.append(
            f'| {record["image_size"]} | {tokens - record["num_masked"]} + {record["num_masked"]} | {record["model"]} | '
            f'{record["step_seconds"]:.2f} | {record["images_per_second"]:.2f} | {record["peak_bytes"] / GIB:.2f} | '
            f'{(record["peak_bytes"] - record["state_bytes"]) / GIB:.2f} |'
        )
    return '\n'.join(lines)


def plot_scaling(records: list[dict], path: Path) -> None:
    """Step time and peak memory above the model state against the number of patches, one line per model."""
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    figure, (time_axis, memory_axis) = plt.subplots(1, 2, figsize=(10, 4))
    for model in dict.fromkeys(record['model'] for record in records):
        for masked_half, marker in ((True, 'o-'), (False, 's')):
            points = sorted(
                (
                    (record['image_size'] // PATCH_SIZE) ** 2,
                    record['step_seconds'],
                    (record['peak_bytes'] - record['state_bytes']) / GIB,
                    record['num_masked'],
                )
                for record in records
                if record['model'] == model
                and (2 * record['num_masked'] == (record['image_size'] // PATCH_SIZE) ** 2) == masked_half
            )
            if not points:
                continue
            label = f'{model}, {"half masked" if masked_half else "40% / 60% masked"}'
            tokens, seconds, memory, _ = zip(*points)
            time_axis.plot(tokens, seconds, marker, label=label)
            memory_axis.plot(tokens, memory, marker, label=label)
    time_axis.set(xlabel='patches per image', ylabel='seconds per step', title='step time')
    memory_axis.set(xlabel='patches per image', ylabel='GiB', title='peak memory above the model state')
    time_axis.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def loss_agreement(records: list[dict]) -> list[str]:
    """Per case: the largest |loss difference| between the two models over all steps."""
    lines = []
    by_case: dict[tuple, dict[str, list[float]]] = {}
    for record in records:
        by_case.setdefault(case_of(record), {})[record['model']] = record['losses']
    for (size, target, image_size, masked), losses in by_case.items():
        if 'mmpretrain' not in losses:
            continue
        for model, our_losses in losses.items():
            if model == 'mmpretrain':
                continue
            differences = [abs(ours - theirs) for ours, theirs in zip(our_losses, losses['mmpretrain'])]
            lines.append(
                f'{size}/{target}/{image_size} px/{masked} masked: |loss difference| per step ({model} - mmpretrain): max '
                f'{max(differences):.2e} over {len(differences)} steps, first step {differences[0]:.2e}'
            )
    return lines


def main(argv: Optional[list[str]] = None) -> dict:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    MMLogger.get_instance('benchmark', log_level='WARNING')  # no per-parameter initialisation report
    if args.threads:
        torch.set_num_threads(args.threads)
    result: dict[str, Any] = dict(
        machine=machine_description(args.device),
        settings=dict(
            batch_size=args.batch_size,
            warmup=args.warmup,
            steps=args.steps,
            precision=args.precision,
            tokenizer_hidden=args.tokenizer_hidden,
            tokenizer_precision=args.tokenizer_precision,
            num_masked=num_masked(args),
            image_size=args.image_size,
            tokenizer_view_size=args.image_size // 2,
            command=' '.join(['python tools/benchmark.py', *sys.argv[1:]]),
        ),
    )
    if args.end_to_end:
        result['end_to_end'] = end_to_end(args)
        print(f'end to end, cae_mm / mmpretrain images/s: {result["end_to_end"]["speed_ratio"]:.2f}x')
    elif args.tokenizer_study:
        study = tokenizer_study(args)
        result['tokenizer_study'] = study
        print(
            f'DALL-E ids on {study["views"]} views ({study["demo_photographs"]} demo photographs, two crops each; '
            f'{study["shared_photographs"]} from ../shared/data; {study["tokens"]} '
            f'tokens; smallest top-1/top-2 logit gap {study["smallest_top_two_gap"]:.1e}); {study["note"]}'
        )
        for name, variant in study['variants'].items():
            print(
                f'  {name:36s} {variant["seconds_per_batch"]:.2f} s per {args.batch_size} views, ids equal to fp32: '
                f'{100 * variant["id_agreement"]:.2f}%, max logit difference {variant["max_logit_difference"]}'
                + (
                    f', images recomputed {100 * variant["recomputed_images"]:.0f}%'
                    if 'recomputed_images' in variant
                    else ''
                )
            )
    else:
        low_precision = torch.bfloat16 if args.precision == 'bf16' else torch.float32
        matmul = MatmulReference(args.device, low_precision)
        matmul.sample()
        records = []
        cases = SCALING_CASES if args.scaling else ((args.image_size, args.mask_ratio),)
        for image_size, mask_ratio in cases:
            args.image_size, args.mask_ratio = image_size, mask_ratio
            for size in args.sizes:
                for target in args.targets:
                    case_records = run_case(size, target, args, matmul)
                    records.extend(case_records)
                    for record in case_records:
                        print(
                            f'{size}/{target}/{image_size} px/{record["num_masked"]} masked/{record["model"]}: '
                            f'{record["step_seconds"]:.2f} s/step, {record["peak_bytes"] / GIB:.2f} GiB peak, '
                            f'losses {record["losses"]}',
                            flush=True,
                        )
                        for phase, seconds in record['phase_seconds'].items():
                            print(f'    {phase:40s} {seconds:.3f} s')
                        if 'profile' in record:
                            print(record['profile'])
        set_matmul_fractions(records, matmul)
        result['matmul_flops_per_second'] = matmul.best
        result['matmul_flops_per_second_samples'] = matmul.samples
        result['records'] = records
        print(
            f'2048^3 matmul ({args.precision}) on {args.device}: best {matmul.best / 1e9:.0f} GFLOP/s of '
            f'{len(matmul.samples)} samples (lowest {min(matmul.samples) / 1e9:.0f})'
        )
        print()
        print(summary_table(records))
        for line in loss_agreement(records):
            print(line)
        if args.scaling:
            print()
            print(scaling_table(records))
            plot = args.output.with_suffix('.png')
            plot_scaling(records, plot)
            print(f'written: {plot}')
    result['machine']['load_average_at_end'] = list(os.getloadavg())
    print(
        f'load average (1, 5, 15 min): start {result["machine"]["load_average_at_start"]}, '
        f'end {result["machine"]["load_average_at_end"]}'
    )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=1))
    print(f'written: {args.output}')
    return result


if __name__ == '__main__':
    main()
