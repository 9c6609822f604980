"""CAE's latent contextual regressor: predicts the latents of masked patches from the visible ones."""

from typing import Optional, Union

import torch
from mmengine.model import BaseModule
from torch import nn

from cae_mm.registry import MODELS
from cae_mm.utils.argument_checks import check_positive_integer, check_rate
from ..layers import (
    InitMode,
    PatchMask,
    RegressorBlock,
    as_patch_mask,
    build_2d_sincos_position_embedding,
    build_block_stack,
    cae_init_,
    gather_tokens,
    run_block,
    truncated_normal_,
)


@MODELS.register_module()
class LatentContextRegressor(BaseModule):
    """Cross-attention regressor: one learned mask token per masked patch queries ``[visible latents; queries]``.

    Args:
        embed_dims: regressor width ``C``.
        in_dims: encoder width, projected to ``C`` by ``Linear + LayerNorm`` (:meth:`project`); None: ``embed_dims``.
        depth: regressor blocks.
        num_heads: attention heads.
        mlp_ratio: feed-forward width over ``C``.
        qv_bias: query/value biases.
        drop_path_rate: stochastic depth of the last block (``linspace(0, rate, depth)``).
        layer_scale_init_value: initial layer scale; 0 disables it.
        norm_eps: LayerNorm epsilon.
        init_std: std of the mask token's truncated-normal init.
        init_mode: ``'xavier'`` (official) or ``'rescaled_truncated_normal'``; see :func:`cae_init_`.
        with_checkpoint: recompute block activations in the backward pass.
        init_cfg: mmengine initialisation config.
    """

    def __init__(
        self,
        embed_dims: int = 768,
        in_dims: Optional[int] = None,
        depth: int = 4,
        num_heads: int = 12,
        mlp_ratio: float = 4.0,
        qv_bias: bool = True,
        drop_path_rate: float = 0.0,
        layer_scale_init_value: float = 0.1,
        norm_eps: float = 1e-6,
        init_std: float = 0.02,
        init_mode: InitMode = 'xavier',
        with_checkpoint: bool = False,
        init_cfg: Optional[dict] = None,
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        check_positive_integer(depth, 'LatentContextRegressor depth', 'regressor blocks')
        check_rate(drop_path_rate, 'LatentContextRegressor drop_path_rate')
        self.embed_dims = embed_dims
        self.with_checkpoint = with_checkpoint
        if in_dims not in (None, embed_dims):
            self.projection = nn.Sequential(nn.Linear(in_dims, embed_dims), nn.LayerNorm(embed_dims, eps=norm_eps))
        else:
            self.projection = nn.Identity()
        self.mask_token = nn.Parameter(torch.zeros(1, 1, embed_dims))
        self.blocks = build_block_stack(
            RegressorBlock,
            depth,
            drop_path_rate,
            embed_dims=embed_dims,
            num_heads=num_heads,
            mlp_ratio=mlp_ratio,
            qv_bias=qv_bias,
            layer_scale_init_value=layer_scale_init_value,
            norm_eps=norm_eps,
        )
        self.norm = nn.LayerNorm(embed_dims, eps=norm_eps)
        cae_init_(self, init_std, init_mode, self.blocks)
        truncated_normal_(self.mask_token, init_std)

    def project(self, latents: torch.Tensor) -> torch.Tensor:
        """Map encoder latents ``(B, N, C_enc)`` to the regressor width ``(B, N, C)`` (identity if equal)."""
        return self.projection(latents)

    def forward(self, visible_latents: torch.Tensor, mask: Union[torch.Tensor, PatchMask]) -> torch.Tensor:
        """Predicted latents ``(B, Nm, C)`` of the masked patches, row-major, after the final LayerNorm.

        Args:
            visible_latents: encoder output of the visible patches, no cls, ``(B, Nv, C_enc)``, row-major.
            mask: ``(B, h, w)`` bool, True = masked, or its checked :class:`PatchMask`.
        """
        mask, visible_index, masked_index = as_patch_mask(mask)
        if visible_index.shape[1] != visible_latents.shape[1]:
            raise ValueError(
                f'the mask keeps {visible_index.shape[1]} patches but {visible_latents.shape[1]} '
                'visible latents were given'
            )
        visible = self.project(visible_latents)  # (B, Nv, C)
        table = build_2d_sincos_position_embedding(mask.shape[-2:], self.embed_dims, with_cls_token=False).to(visible)
        visible_pos = gather_tokens(table, visible_index)  # (B, Nv, C)
        masked_pos = gather_tokens(table, masked_index)  # (B, Nm, C)
        queries = self.mask_token.to(visible.dtype).expand(masked_index.shape[0], masked_index.shape[1], -1)
        context_pos = torch.cat([visible_pos, masked_pos], dim=1)  # (B, Nv + Nm, C)
        recompute = self.with_checkpoint and self.training and torch.is_grad_enabled()
        for block in self.blocks:
            context = torch.cat([visible, queries], dim=1)  # (B, Nv + Nm, C)
            queries = run_block(block, recompute, queries, context, masked_pos, context_pos)
        return self.norm(queries)

    def no_weight_decay(self) -> set[str]:
        """Parameter names (relative to this module) that get no weight decay, besides every 1-D parameter."""
        return {'mask_token'}
