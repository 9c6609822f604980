"""The CAE encoder: a ViT over the visible patches plus cls, with fixed 2-D sin-cos positions."""

from typing import Literal, Optional, Sequence, Union

import torch
from mmengine.model import BaseModule
from torch import nn

from cae_mm.registry import MODELS
from cae_mm.utils.argument_checks import check_positive_integer, check_rate
from ..layers import (
    InitMode,
    PatchMask,
    RelativePositionBias,
    TransformerBlock,
    build_2d_sincos_position_embedding,
    build_block_stack,
    cae_init_,
    gather_tokens,
    mask_to_indices,
    run_block,
    truncated_normal_,
)
from cae_mm.checkpoints.pretrained import load_pretrained_weights

OutputType = Literal['raw', 'featmap', 'cls_token', 'avg_featmap']


@MODELS.register_module()
class CAEVisionTransformer(BaseModule):
    """ViT encoder of CAE: conv patch embedding, pre-norm blocks with q/v bias and layer scale, final LayerNorm.

    Args:
        arch: a key of ``arch_zoo`` or a dict with ``embed_dims``, ``num_layers``, ``num_heads``.
        patch_size: patch side in pixels.
        in_channels: image channels.
        mlp_ratio: feed-forward width over ``embed_dims``.
        qv_bias: query/value biases in attention.
        drop_path_rate: stochastic depth of the last block (``linspace(0, rate)`` over the blocks).
        dropout: dropout after positions, attention projections and in feed-forward layers.
        attention_dropout: dropout on attention weights.
        layer_scale_init_value: initial layer scale; None takes the arch's; 0 disables it.
        norm_eps: LayerNorm epsilon.
        out_indices: blocks whose outputs ``forward`` returns (negative counts from the end).
        out_type: ``'raw'`` ``(B, 1 + N, C)``, ``'featmap'`` ``(B, C, h, w)``, ``'cls_token'`` or ``'avg_featmap'``
            ``(B, C)`` (mean patch token).
        final_norm: apply the final LayerNorm to the last block's output.
        frozen_stages: freeze patch embedding and the first ``frozen_stages`` blocks (-1: none; all: also final norm).
        with_checkpoint: recompute block activations in the backward pass.
        window_size: ViTDet window attention in ``s x s`` patch windows (0: global); needs every patch (no ``mask``).
        global_attention_indices: blocks that keep global attention when ``window_size > 0``.
        relative_position_bias_grid: ``(h, w)`` of a per-block relative position bias; inputs must match. None: none.
        init_std: std of the truncated-normal init of the patch embedding and cls token.
        init_mode: ``'xavier'`` (official) or ``'rescaled_truncated_normal'``; see :func:`cae_init_`.
        init_cfg: ``dict(type='Pretrained', checkpoint=PATH, prefix='backbone.')`` loads weights, all keys checked.
    """

    arch_zoo = {
        'test': dict(embed_dims=64, num_layers=2, num_heads=4, layer_scale_init_value=0.1),
        'tiny': dict(embed_dims=192, num_layers=12, num_heads=12, layer_scale_init_value=0.1),
        'small': dict(embed_dims=384, num_layers=12, num_heads=12, layer_scale_init_value=0.1),
        'base': dict(embed_dims=768, num_layers=12, num_heads=12, layer_scale_init_value=0.1),
        'large': dict(embed_dims=1024, num_layers=24, num_heads=16, layer_scale_init_value=1e-5),
        'huge': dict(embed_dims=1280, num_layers=32, num_heads=16, layer_scale_init_value=1e-5),
    }

    def __init__(
        self,
        arch: Union[str, dict] = 'base',
        patch_size: int = 16,
        in_channels: int = 3,
        mlp_ratio: float = 4.0,
        qv_bias: bool = True,
        drop_path_rate: float = 0.0,
        dropout: float = 0.0,
        attention_dropout: float = 0.0,
        layer_scale_init_value: Optional[float] = None,
        norm_eps: float = 1e-6,
        out_indices: Union[int, Sequence[int]] = -1,
        out_type: OutputType = 'raw',
        final_norm: bool = True,
        frozen_stages: int = -1,
        with_checkpoint: bool = False,
        window_size: int = 0,
        global_attention_indices: Sequence[int] = (),
        relative_position_bias_grid: Optional[Sequence[int]] = None,
        init_std: float = 0.02,
        init_mode: InitMode = 'xavier',
        init_cfg: Optional[dict] = None,
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        settings = self._arch_settings(arch)
        self.embed_dims = settings['embed_dims']
        self.num_layers = settings['num_layers']
        self.num_heads = settings['num_heads']
        if layer_scale_init_value is None:
            layer_scale_init_value = settings.get('layer_scale_init_value', 0.0)
        self.patch_size = check_positive_integer(
            patch_size, 'CAEVisionTransformer patch_size', 'pixels per patch side, dividing the image size'
        )
        check_positive_integer(in_channels, 'CAEVisionTransformer in_channels', 'image channels')
        check_rate(drop_path_rate, 'CAEVisionTransformer drop_path_rate')
        check_rate(dropout, 'CAEVisionTransformer dropout')
        check_rate(attention_dropout, 'CAEVisionTransformer attention_dropout')
        if out_type not in ('raw', 'featmap', 'cls_token', 'avg_featmap'):
            raise ValueError(f"out_type must be 'raw', 'featmap', 'cls_token' or 'avg_featmap', got {out_type!r}")
        self.out_type = out_type
        out_indices = [out_indices] if isinstance(out_indices, int) else out_indices
        self.out_indices = self._normalise_block_indices(out_indices, 'out_indices')
        self.final_norm = final_norm
        self.with_checkpoint = with_checkpoint
        if window_size < 0:
            raise ValueError(f'window_size must be >= 0 (0: global attention everywhere), got {window_size}')
        if global_attention_indices and window_size == 0:
            raise ValueError('global_attention_indices only apply with window attention: set window_size > 0')
        self.window_size = window_size
        self.global_attention_indices = self._normalise_block_indices(
            global_attention_indices, 'global_attention_indices'
        )

        self.patch_embed = nn.Conv2d(in_channels, self.embed_dims, kernel_size=patch_size, stride=patch_size)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, self.embed_dims))
        self.drop_after_pos = nn.Dropout(dropout)
        self.layers = build_block_stack(
            TransformerBlock,
            self.num_layers,
            drop_path_rate,
            per_block_args=[
                dict(window_size=0 if index in self.global_attention_indices else window_size)
                for index in range(self.num_layers)
            ],
            embed_dims=self.embed_dims,
            num_heads=self.num_heads,
            mlp_ratio=mlp_ratio,
            qv_bias=qv_bias,
            layer_scale_init_value=layer_scale_init_value,
            dropout=dropout,
            attention_dropout=attention_dropout,
            norm_eps=norm_eps,
        )
        self.norm = nn.LayerNorm(self.embed_dims, eps=norm_eps) if final_norm else nn.Identity()
        self.relative_position_bias: Optional[nn.ModuleList] = None
        if relative_position_bias_grid is not None:
            if window_size > 0:
                raise ValueError(
                    'relative_position_bias_grid needs global attention: it cannot be combined with window_size > 0'
                )
            grid = tuple(int(side) for side in relative_position_bias_grid)
            self.relative_position_bias = nn.ModuleList(
                RelativePositionBias(grid, self.num_heads) for _ in range(self.num_layers)
            )

        cae_init_(self, init_std, init_mode, self.layers)
        truncated_normal_(self.cls_token, init_std)
        self.frozen_stages = frozen_stages
        self._freeze_stages()

    @classmethod
    def _arch_settings(cls, arch: Union[str, dict]) -> dict:
        if isinstance(arch, str):
            if arch not in cls.arch_zoo:
                raise ValueError(f'unknown arch {arch!r}; choose one of {sorted(cls.arch_zoo)} or pass a dict')
            return cls.arch_zoo[arch]
        missing = {'embed_dims', 'num_layers', 'num_heads'} - set(arch)
        if missing:
            raise ValueError(f'a custom arch dict needs {sorted(missing)}')
        return arch

    def _normalise_block_indices(self, indices: Sequence[int], name: str) -> tuple[int, ...]:
        normalised = []
        for index in indices:
            if not -self.num_layers <= index < self.num_layers:
                raise ValueError(f'{name} entry {index} is out of range for {self.num_layers} blocks')
            normalised.append(index % self.num_layers)
        return tuple(sorted(set(normalised)))

    def _freeze_stages(self) -> None:
        if self.frozen_stages < 0:
            return
        frozen = [self.patch_embed, *self.layers[: self.frozen_stages]]
        if self.relative_position_bias is not None:
            frozen.extend(self.relative_position_bias[: self.frozen_stages])
        if self.frozen_stages >= self.num_layers:
            frozen.append(self.norm)
        for module in frozen:
            module.eval()
            for parameter in module.parameters():
                parameter.requires_grad = False
        self.cls_token.requires_grad = False

    def train(self, mode: bool = True) -> 'CAEVisionTransformer':
        """Switch train/eval mode, keeping frozen blocks in eval mode (no dropout or drop path there)."""
        super().train(mode)
        self._freeze_stages()
        return self

    def grid_size(self, images: torch.Tensor) -> tuple[int, int]:
        """Patch grid ``(h, w)`` of a ``(B, C, H, W)`` image batch.

        Raises:
            ValueError: if ``H`` or ``W`` is not a multiple of the patch size.
        """
        height, width = images.shape[-2:]
        if height % self.patch_size or width % self.patch_size:
            raise ValueError(
                f'image size {height}x{width} is not divisible by the patch size {self.patch_size}; '
                f'crop or resize the images to a multiple of {self.patch_size}'
            )
        return height // self.patch_size, width // self.patch_size

    def position_embedding(self, grid_size: tuple[int, int], like: torch.Tensor) -> torch.Tensor:
        """Fixed sin-cos positions of the patches (no cls slot), ``(1, h * w, C)``, on ``like``'s device/dtype."""
        table = build_2d_sincos_position_embedding(grid_size, self.embed_dims, with_cls_token=False)
        return table.to(device=like.device, dtype=like.dtype)

    def _input_tokens(
        self,
        images: torch.Tensor,
        mask: Optional[Union[torch.Tensor, PatchMask]],
        grid: Optional[tuple[int, int]] = None,
    ) -> torch.Tensor:
        """Embed, add positions, drop masked patches (checking a plain mask), prepend cls: ``(B, 1 + N_kept, C)``."""
        grid = grid or self.grid_size(images)
        if mask is not None and self.window_size > 0:
            raise ValueError('window attention needs every patch of the grid; it cannot run on masked inputs')
        if mask is not None and self.relative_position_bias is not None:
            raise ValueError('the relative position bias needs every patch of the grid; it cannot run on masked inputs')
        patches = self.patch_embed(images).flatten(2).transpose(1, 2)  # (B, h*w, C)
        patches = patches + self.position_embedding(grid, patches)
        if isinstance(mask, PatchMask):
            patches = gather_tokens(patches, mask.visible_index)  # (B, N_kept, C)
        elif mask is not None:
            mask = mask.flatten(1)  # (B, h*w)
            if mask.shape[1] != patches.shape[1]:
                raise ValueError(
                    f'mask covers {mask.shape[1]} patches but the {images.shape[-2]}x'
                    f'{images.shape[-1]} images have {grid[0]}x{grid[1]} = {patches.shape[1]}'
                )
            kept_index, _ = mask_to_indices(mask)
            patches = gather_tokens(patches, kept_index)  # (B, N_kept, C)
        cls = self.cls_token.expand(patches.shape[0], -1, -1)  # the cls position is zero
        return self.drop_after_pos(torch.cat([cls, patches], dim=1))

    def _attention_bias(self, index: int, grid: tuple[int, int]) -> Optional[torch.Tensor]:
        """Block ``index``'s relative position bias ``(heads, 1 + h*w, 1 + h*w)``, or None without one."""
        if self.relative_position_bias is None:
            return None
        bias = self.relative_position_bias[index]
        if grid != bias.grid_size:
            raise ValueError(
                f'the relative position bias is for a {bias.grid_size[0]}x{bias.grid_size[1]} patch grid '
                f'but the images give {grid[0]}x{grid[1]}; resize the images to '
                f'{bias.grid_size[0] * self.patch_size}x{bias.grid_size[1] * self.patch_size} or change '
                'relative_position_bias_grid'
            )
        return bias()

    def _run_block(self, index: int, tokens: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
        recompute = self.with_checkpoint and self.training and tokens.requires_grad
        return run_block(self.layers[index], recompute, tokens, grid, self._attention_bias(index, grid))

    def forward_encoder(
        self, images: torch.Tensor, mask: Optional[Union[torch.Tensor, PatchMask]] = None
    ) -> torch.Tensor:
        """Final-normed tokens ``(B, 1 + N_kept, C)``: cls, then the patches ``mask`` keeps in row-major order.

        Args:
            images: ``(B, 3, H, W)``, sides multiples of the patch size.
            mask: ``(B, h, w)`` or ``(B, h*w)`` bool, True = masked, or a checked :class:`PatchMask`; None keeps all.
        """
        grid = mask.grid_size if isinstance(mask, PatchMask) else self.grid_size(images)
        tokens = self._input_tokens(images, mask, grid)
        for index in range(self.num_layers):
            tokens = self._run_block(index, tokens, grid)
        return self.norm(tokens)

    def forward(self, images: torch.Tensor, mask: Optional[torch.Tensor] = None) -> tuple[torch.Tensor, ...]:
        """OpenMMLab backbone forward: one output per block in ``out_indices``, shaped by ``out_type``.

        Args:
            images: ``(B, 3, H, W)``.
            mask: optional ``(B, h, w)`` bool, True = masked; only with ``out_type`` ``'raw'`` or ``'cls_token'``.
        """
        if mask is not None and self.out_type in ('featmap', 'avg_featmap'):
            raise ValueError(f'out_type={self.out_type!r} needs every patch; call with mask=None')
        grid = self.grid_size(images)
        tokens = self._input_tokens(images, mask, grid)
        outputs = []
        for index in range(self.num_layers):
            tokens = self._run_block(index, tokens, grid)
            if index == self.num_layers - 1:
                tokens = self.norm(tokens)
            if index in self.out_indices:
                outputs.append(self._format_output(tokens, grid))
        return tuple(outputs)

    def _format_output(self, tokens: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
        if self.out_type == 'raw':
            return tokens  # (B, 1 + N, C)
        if self.out_type == 'cls_token':
            return tokens[:, 0]  # (B, C)
        patches = tokens[:, 1:]  # (B, h*w, C)
        if self.out_type == 'avg_featmap':
            return patches.mean(dim=1)  # (B, C)
        batch, _, channels = patches.shape
        return patches.transpose(1, 2).reshape(batch, channels, *grid)  # (B, C, h, w)

    def get_layer_depth(self, param_name: str, prefix: str = '') -> tuple[int, int]:
        """``(layer_id, num_layers + 2)`` for lr decay: patch embedding and cls 0, block ``i`` ``i + 1``, the rest last.

        Args:
            param_name: full parameter name, e.g. ``'backbone.layers.3.attn.qkv.weight'``.
            prefix: the backbone's prefix in ``param_name``, e.g. ``'backbone.'``.
        """
        num_layer_ids = self.num_layers + 2
        if not param_name.startswith(prefix):
            return num_layer_ids - 1, num_layer_ids
        name = param_name[len(prefix) :]
        if name in ('cls_token', 'pos_embed', 'mask_token') or name.startswith('patch_embed'):
            return 0, num_layer_ids
        if name.startswith(('layers.', 'relative_position_bias.')):
            return int(name.split('.')[1]) + 1, num_layer_ids
        return num_layer_ids - 1, num_layer_ids

    def init_weights(self) -> None:
        """Load ``init_cfg``'s ``Pretrained`` checkpoint with every key checked; other init configs go to mmengine."""
        if not (isinstance(self.init_cfg, dict) and self.init_cfg.get('type') == 'Pretrained'):
            super().init_weights()
            return
        if self.is_init:
            return
        new_keys = [name for name, _ in self.named_parameters() if name.startswith('relative_position_bias.')]
        unused_keys = () if self.final_norm else ('norm.weight', 'norm.bias')
        load_pretrained_weights(
            self,
            self.init_cfg.get('checkpoint'),
            self.init_cfg.get('prefix', ''),
            new_keys=new_keys,
            unused_keys=unused_keys,
        )
        self.is_init = True

    def no_weight_decay(self) -> set[str]:
        """Parameter names (relative to this module) that get no weight decay, besides every 1-D parameter."""
        return {'cls_token'}
