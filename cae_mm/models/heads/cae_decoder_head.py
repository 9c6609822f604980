"""CAE's decoder and losses: reconstruction of the masked patches plus alignment of the predicted latents."""

from typing import Literal, Optional, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import nn

from cae_mm.registry import MODELS
from cae_mm.utils.argument_checks import check_positive_integer, check_rate
from ..layers import (
    InitMode,
    PatchMask,
    TransformerBlock,
    as_patch_mask,
    build_2d_sincos_position_embedding,
    build_block_stack,
    cae_init_,
    gather_tokens,
    run_block,
)


@MODELS.register_module()
class CAEDecoderHead(BaseModule):
    """Decoder over the predicted masked latents only (never a visible one), a prediction layer, CAE's two losses.

    Args:
        embed_dims: width ``C`` of the predicted latents (the regressor's width).
        out_dims: prediction size per patch: the tokenizer vocabulary or ``patch_size**2 * 3`` for pixels.
        depth: decoder blocks.
        num_heads: attention heads.
        mlp_ratio: feed-forward width over ``C``.
        qv_bias: query/value biases.
        drop_path_rate: stochastic depth of the last block (``linspace(0, rate, depth)``).
        layer_scale_init_value: initial layer scale; 0 disables it.
        norm_eps: LayerNorm epsilon.
        reconstruction_loss: ``'cross_entropy'`` for token ids, ``'mse'`` for pixel targets.
        alignment_weight: λ, the weight of the alignment loss (2 in the paper).
        init_std: std of the truncated-normal Linear init in ``'rescaled_truncated_normal'`` mode.
        init_mode: ``'xavier'`` (official) or ``'rescaled_truncated_normal'``; see :func:`cae_init_`.
        with_checkpoint: recompute block activations in the backward pass.
        init_cfg: mmengine initialisation config.
    """

    def __init__(
        self,
        embed_dims: int = 768,
        out_dims: int = 8192,
        depth: int = 4,
        num_heads: int = 12,
        mlp_ratio: float = 4.0,
        qv_bias: bool = True,
        drop_path_rate: float = 0.0,
        layer_scale_init_value: float = 0.1,
        norm_eps: float = 1e-6,
        reconstruction_loss: Literal['cross_entropy', 'mse'] = 'cross_entropy',
        alignment_weight: float = 2.0,
        init_std: float = 0.02,
        init_mode: InitMode = 'xavier',
        with_checkpoint: bool = False,
        init_cfg: Optional[dict] = None,
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        if reconstruction_loss not in ('cross_entropy', 'mse'):
            raise ValueError(f"reconstruction_loss must be 'cross_entropy' or 'mse', got {reconstruction_loss!r}")
        check_positive_integer(depth, 'CAEDecoderHead depth', 'decoder blocks')
        check_rate(drop_path_rate, 'CAEDecoderHead drop_path_rate')
        self.embed_dims = embed_dims
        self.out_dims = out_dims
        self.reconstruction_loss = reconstruction_loss
        self.alignment_weight = alignment_weight
        self.with_checkpoint = with_checkpoint
        self.blocks = build_block_stack(
            TransformerBlock,
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
        self.predictor = nn.Linear(embed_dims, out_dims)
        cae_init_(self, init_std, init_mode, self.blocks)

    def forward(self, latent_pred: torch.Tensor, mask: Union[torch.Tensor, PatchMask]) -> torch.Tensor:
        """Per-patch predictions ``(B, Nm, out_dims)`` (logits or pixels) from the predicted latents.

        Args:
            latent_pred: predicted latents of the masked patches ``(B, Nm, C)``, row-major.
            mask: ``(B, h, w)`` bool, True = masked, or its checked :class:`PatchMask`.
        """
        mask, _, masked_index = as_patch_mask(mask)
        table = build_2d_sincos_position_embedding(mask.shape[-2:], self.embed_dims, with_cls_token=False)
        x = latent_pred + gather_tokens(table.to(latent_pred), masked_index)  # (B, Nm, C)
        recompute = self.with_checkpoint and self.training and torch.is_grad_enabled()
        for block in self.blocks:
            x = run_block(block, recompute, x)
        return self.predictor(self.norm(x))

    def loss(
        self,
        latent_pred: torch.Tensor,
        latent_target: torch.Tensor,
        reconstruction_target: torch.Tensor,
        mask: Union[torch.Tensor, PatchMask],
    ) -> dict[str, torch.Tensor]:
        """CAE's losses in fp32: ``loss_reconstruction`` and ``loss_alignment`` (already times ``alignment_weight``).

        Args:
            latent_pred: regressor output ``(B, Nm, C)``.
            latent_target: encoder output on the masked patches ``(B, Nm, C)`` (no gradient).
            reconstruction_target: token ids ``(B, Nm)`` (int64) or pixel targets ``(B, Nm, out_dims)``.
            mask: ``(B, h, w)`` bool, True = masked, or its checked :class:`PatchMask`.
        """
        if latent_target.shape != latent_pred.shape:
            raise ValueError(
                f'alignment target {tuple(latent_target.shape)} does not match the predicted latents '
                f'{tuple(latent_pred.shape)}'
            )
        prediction = self(latent_pred, mask).float()  # (B, Nm, out_dims)
        if self.reconstruction_loss == 'cross_entropy':
            if reconstruction_target.shape != prediction.shape[:2]:
                raise ValueError(
                    f'expected token ids of shape {tuple(prediction.shape[:2])}, got '
                    f'{tuple(reconstruction_target.shape)}'
                )
            loss_reconstruction = F.cross_entropy(prediction.flatten(0, 1), reconstruction_target.flatten())
        else:
            if reconstruction_target.shape != prediction.shape:
                raise ValueError(
                    f'expected pixel targets of shape {tuple(prediction.shape)}, got '
                    f'{tuple(reconstruction_target.shape)}; out_dims must be patch_size**2 * 3'
                )
            loss_reconstruction = F.mse_loss(prediction, reconstruction_target.float())
        loss_alignment = F.mse_loss(latent_pred.float(), latent_target.detach().float())
        return dict(loss_reconstruction=loss_reconstruction, loss_alignment=self.alignment_weight * loss_alignment)
