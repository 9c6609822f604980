"""Base of the tokenizer targets: frozen weights kept out of checkpoints, eval mode, fp32 ids of masked patches."""

import math
import time
from typing import Callable, Literal, Optional, Union

import torch
import torch.nn.functional as F
from mmengine.logging import MMLogger
from mmengine.model import BaseModule
from torch import nn

from cae_mm.checkpoints import TokenizerWeightsError, compare_keys
from ..layers import PatchMask, as_patch_mask

Precision = Literal['auto', 'fp32', 'bf16_recompute', 'bf16']


def cpu_has_amx() -> bool:
    """Whether this CPU has AMX tiles (fast bf16 convolutions in oneDNN)."""
    is_supported = getattr(torch.cpu, '_is_amx_tile_supported', None)
    return bool(is_supported and is_supported())


class FrozenConv2d(nn.Module):
    """A 2-D convolution whose fixed weights are non-persistent buffers: no gradient, not in ``state_dict()``.

    Args:
        in_channels: input channels.
        out_channels: output channels.
        kernel_size: square kernel side.
        stride: stride.
        padding: zero padding; None means ``(kernel_size - 1) // 2``.
        weight_name: the weight's name in the weights file (``'w'`` in DALL-E).
        bias_name: the bias's name in the weights file.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        padding: Optional[int] = None,
        weight_name: str = 'weight',
        bias_name: str = 'bias',
    ) -> None:
        super().__init__()
        self.stride = stride
        self.padding = (kernel_size - 1) // 2 if padding is None else padding
        self.weight_name = weight_name
        self.bias_name = bias_name
        # Random weights only matter when a config asks for none (tests); DALL-E's own initialisation.
        fan_in = in_channels * kernel_size**2
        weight = torch.randn(out_channels, in_channels, kernel_size, kernel_size) / math.sqrt(fan_in)
        self.register_buffer(weight_name, weight, persistent=False)
        self.register_buffer(bias_name, torch.zeros(out_channels), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, getattr(self, self.weight_name), getattr(self, self.bias_name), self.stride, self.padding)


class FrozenTokenizer(BaseModule):
    """Base of the tokenizer targets: a frozen image encoder whose argmax over the vocabulary gives one id per patch.

    Subclasses build :class:`FrozenConv2d` layers (named as in their weights file), define
    ``logits(images) -> (B, vocab_size, h, w)``, set ``input_range`` (``(low, high)`` after the data preprocessor) and
    ``preprocessing_hint`` (quoted when out of range), and call :meth:`load_checkpoint`. The module stays in eval mode
    with autocast off: fp32 ids never depend on ``--amp``.

    Args:
        vocab_size: number of token ids.
        downsample_factor: image pixels per token along each side.
        precision: ``'auto'`` (bf16 with fp32 recomputation of near ties on a CPU with AMX while faster, else fp32),
            ``'fp32'`` or ``'bf16_recompute'``, all giving the fp32 ids; or ``'bf16'``: the argmax of the bf16
            logits (mmpretrain's ids under mixed precision), which differ from fp32's at near ties.
        init_cfg: unused: weights come from the file.
    """

    error_safety = 4.0
    """The bf16 error bound is this many times the largest bf16 error on the batch's reference images."""
    cpu_chunk_images = 2
    """fp32 ids on a CPU are computed this many images at a time (the last chunk takes the rest). Keep it >= 2: oneDNN
    runs a single image with other kernels, whose ids may differ."""
    input_range: tuple[float, float]
    preprocessing_hint: str

    def __init__(
        self, vocab_size: int, downsample_factor: int, precision: Precision = 'auto', init_cfg: Optional[dict] = None
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        if precision not in ('auto', 'fp32', 'bf16_recompute', 'bf16'):
            raise ValueError(f"precision must be 'auto', 'fp32', 'bf16_recompute' or 'bf16', got {precision!r}")
        self.vocab_size = vocab_size
        self.downsample_factor = downsample_factor
        self.precision = precision
        self.loaded_from: Optional[str] = None
        self.range_checked = False
        self.use_bf16: Optional[bool] = None  # decided at the first batch, when the device is known
        self.bf16_decided = precision != 'auto'
        self.recompute_stats = dict(images=0, recomputed=0, bf16_seconds=0.0, fp32_seconds=0.0)

    def train(self, mode: bool = True) -> 'FrozenTokenizer':
        """Stay in eval mode: the tokenizer is fixed, whatever mode the model around it is in."""
        return super().train(False)

    def init_weights(self) -> None:
        """Nothing to initialise: the weights come from the tokenizer file when the module is built."""

    def load_checkpoint(
        self,
        checkpoint: Optional[Union[str, dict]],
        read_file: Callable[[str], dict[str, torch.Tensor]],
        output_weight_key: str,
        ignored_prefixes: tuple[str, ...] = (),
    ) -> None:
        """Fill the frozen weights from ``checkpoint``.

        Args:
            checkpoint: weights file path, a read ``{name: tensor}`` dict, or None: random weights (tests; warns).
            read_file: ``path -> {name: tensor}``, the subclass's file reader.
            output_weight_key: name of the last layer's weight, whose first dimension is the vocabulary size.
            ignored_prefixes: file entries outside the encoder (a d-VAE's decoder).

        Raises:
            TokenizerWeightsError: missing or unexpected entries, wrong shapes, or another vocabulary size.
        """
        if checkpoint is None:
            MMLogger.get_current_instance().warning(
                f'{type(self).__name__} uses RANDOM weights (checkpoint=None): its targets are meaningless; '
                'use this only in tests'
            )
            return
        state_dict = read_file(checkpoint) if not isinstance(checkpoint, dict) else checkpoint
        source = str(checkpoint) if not isinstance(checkpoint, dict) else 'the given state dict'
        state_dict = {key: value for key, value in state_dict.items() if not key.startswith(ignored_prefixes)}
        expected = dict(self.named_buffers())
        output_weight = state_dict.get(output_weight_key)
        if output_weight is not None and output_weight.shape[0] != self.vocab_size:
            raise TokenizerWeightsError(
                f'{source} is a tokenizer with a vocabulary of {output_weight.shape[0]} tokens, but the config asks '
                f'for vocab_size={self.vocab_size}: use the matching weights file, or change vocab_size and the '
                "decoder head's out_dims together"
            )
        missing, unexpected, wrong_shapes = compare_keys(state_dict, expected, source_name='file')
        if missing or unexpected:
            raise TokenizerWeightsError(
                f'{source} does not match {type(self).__name__}: missing {missing}, unexpected {unexpected}'
            )
        if wrong_shapes:
            raise TokenizerWeightsError(
                f'{source} has other layer sizes than {type(self).__name__} (check '
                f'hidden_dims and the layer counts): {wrong_shapes[:6]}'
            )
        for key, tensor in expected.items():
            tensor.copy_(state_dict[key].to(tensor.dtype))
        self.loaded_from = source

    def check_images(self, images: torch.Tensor) -> tuple[int, int]:
        """Token grid ``(h, w)`` of the tokenizer view ``images`` ``(B, 3, H, W)``, after the data preprocessor.

        Raises:
            ValueError: wrong shape, sides not divisible by ``downsample_factor``, or values outside ``input_range``
                (checked on the first batch only).
        """
        if images.dim() != 4 or images.shape[1] != 3:
            raise ValueError(f'{type(self).__name__} takes (B, 3, H, W) images, got {tuple(images.shape)}')
        height, width = images.shape[-2:]
        if height % self.downsample_factor or width % self.downsample_factor:
            raise ValueError(
                f'{type(self).__name__} needs image sides divisible by {self.downsample_factor}, got {height}x{width}'
            )
        if not self.range_checked:
            self.check_value_range(images)
            self.range_checked = True
        return height // self.downsample_factor, width // self.downsample_factor

    def check_value_range(self, images: torch.Tensor) -> None:
        """Raise ``ValueError`` if ``images`` ``(B, 3, H, W)`` hold values outside ``input_range``."""
        low, high = self.input_range
        slack = 1e-3 * (high - low)
        found_low, found_high = (float(value) for value in torch.aminmax(images))
        if found_low < low - slack or found_high > high + slack:
            raise ValueError(
                f'{type(self).__name__} expects pixels in [{low}, {high}], got [{found_low:.3f}, '
                f'{found_high:.3f}]: {self.preprocessing_hint}'
            )

    def _choose_precision(self, device: torch.device) -> None:
        if self.precision == 'auto':
            self.use_bf16 = device.type == 'cpu' and cpu_has_amx()
        else:
            self.use_bf16 = self.precision == 'bf16_recompute'
        if self.precision == 'bf16':
            how = 'bf16 logits (ids differ from fp32 ids where two logits nearly tie)'
        elif self.use_bf16:
            how = 'bf16 convolutions, images with a near-tie patch recomputed in fp32 (ids equal to fp32)'
        else:
            how = 'fp32'
        reason = {'auto': f'{device.type}, AMX {"yes" if cpu_has_amx() else "no"}'}.get(self.precision, 'configured')
        MMLogger.get_current_instance().info(f'{type(self).__name__}: {how} ({reason})')

    def _fp32_logits(self, images: torch.Tensor) -> torch.Tensor:
        """fp32 logits ``(B, vocab, h, w)`` from a contiguous batch: ids must not depend on the memory layout."""
        with torch.autocast(device_type=images.device.type, enabled=False):
            return self.logits(images.float().contiguous())

    def _fp32_ids(self, images: torch.Tensor) -> torch.Tensor:
        chunk = self.cpu_chunk_images
        if images.device.type != 'cpu' or images.shape[0] < 2 * chunk:
            return self._fp32_logits(images).argmax(dim=1)
        sizes = [chunk] * (images.shape[0] // chunk)
        sizes[-1] += images.shape[0] % chunk
        return torch.cat([self._fp32_logits(part).argmax(dim=1) for part in images.split(sizes)])

    def _bf16_logits(self, images: torch.Tensor) -> torch.Tensor:
        """Logits ``(B, vocab, h, w)`` under bf16 autocast, from a channels-last batch (oneDNN's fast bf16 layout)."""
        with torch.autocast(device_type=images.device.type, dtype=torch.bfloat16):
            return self.logits(images.float().contiguous(memory_format=torch.channels_last))

    def _bf16_ids_with_fp32_recompute(self, images: torch.Tensor) -> torch.Tensor:
        """fp32 ids ``(B, h, w)``: bf16 logits; fp32 again for images with a top-2 margin under 2x the error bound."""
        start = time.perf_counter()
        logits = self._bf16_logits(images).float()  # (B, vocab, h, w)
        bf16_seconds = time.perf_counter() - start
        top2 = logits.topk(2, dim=1).values  # (B, 2, h, w)
        margin = (top2[:, 0] - top2[:, 1]).flatten(1).amin(dim=1)  # (B,) narrowest top-2 margin per image
        ids = logits.argmax(dim=1)  # (B, h, w)
        start = time.perf_counter()
        # The two images with the narrowest margins are the reference: the most likely to need fp32 anyway, and two
        # because oneDNN runs a batch of one with other kernels whose last bits differ from those of a larger batch.
        reference = margin.argsort()[:2]
        reference_logits = self._fp32_logits(images[reference])  # (R, vocab, h, w)
        bound = self.error_safety * float((logits[reference] - reference_logits).abs().max())
        ids[reference] = reference_logits.argmax(dim=1)
        recompute = margin < 2 * bound  # (B,)
        recompute[reference] = False
        if int(recompute.sum()) == 1:
            recompute[reference[0]] = True  # again: never a batch of one
        if bool(recompute.any()):
            ids[recompute] = self._fp32_ids(images[recompute])
        stats = self.recompute_stats
        stats['images'] += images.shape[0]
        stats['recomputed'] += int(recompute.sum()) + len(reference)
        stats['bf16_seconds'] += bf16_seconds
        stats['fp32_seconds'] += time.perf_counter() - start
        return ids

    def _keep_bf16_if_faster(self) -> None:
        """After the first batch: keep bf16 only if bf16 plus its recomputations took less than fp32 would."""
        self.bf16_decided = True
        stats = self.recompute_stats
        fp32_estimate = stats['fp32_seconds'] / stats['recomputed'] * stats['images']
        bf16_total = stats['bf16_seconds'] + stats['fp32_seconds']
        recomputed = stats['recomputed'] / stats['images']
        self.use_bf16 = bf16_total < fp32_estimate
        choice = 'keeps bf16' if self.use_bf16 else 'switches to fp32'
        MMLogger.get_current_instance().info(
            f'{type(self).__name__} {choice}: {recomputed:.0%} of the first {stats["images"]} images needed fp32 '
            f'recomputation; bf16 with it took {bf16_total:.2f} s, fp32 alone would take about {fp32_estimate:.2f} s'
        )

    @torch.no_grad()
    def token_ids(self, images: torch.Tensor) -> torch.Tensor:
        """Row-major int64 ids ``(B, h*w)`` of the tokenizer view ``images`` ``(B, 3, H, W)`` in ``input_range``: the
        fp32 argmax, or with ``precision='bf16'`` the bf16 argmax."""
        self.check_images(images)
        if self.use_bf16 is None:
            self._choose_precision(images.device)
        if self.precision == 'bf16':
            return self._bf16_logits(images).argmax(dim=1).flatten(1)  # (B, h*w)
        if not self.use_bf16:
            return self._fp32_ids(images).flatten(1)  # (B, h*w)
        ids = self._bf16_ids_with_fp32_recompute(images)  # (B, h, w)
        if not self.bf16_decided:
            self._keep_bf16_if_faster()
        return ids.flatten(1)  # (B, h*w)

    @torch.no_grad()
    def forward(self, images: torch.Tensor, mask: Union[torch.Tensor, PatchMask]) -> torch.Tensor:
        """The targets: int64 ids ``(B, Nm)`` of the masked patches, row-major, of the tokenizer view ``images``
        ``(B, 3, H, W)`` (e.g. 112 px for a 14x14 grid) and ``mask``, ``(B, h, w)`` bool on the token grid (True =
        masked; another grid is a ``ValueError``) or its checked :class:`PatchMask`."""
        grid = self.check_images(images)
        mask_grid = mask.grid_size if isinstance(mask, PatchMask) else tuple(mask.shape[1:])
        if mask_grid != grid:
            raise ValueError(
                f'{type(self).__name__} gives a {grid[0]}x{grid[1]} token grid for '
                f'{images.shape[-2]}x{images.shape[-1]} images, but the mask is '
                f'{"x".join(map(str, mask_grid))}: resize the tokenizer view to '
                f'{mask_grid[0] * self.downsample_factor}x{mask_grid[-1] * self.downsample_factor}'
            )
        _, _, masked_index = as_patch_mask(mask)
        ids = self.token_ids(images)  # (B, h*w)
        return torch.gather(ids, 1, masked_index)  # (B, Nm)
