"""The Context Autoencoder (Chen et al.): mask -> encoder -> latent regressor -> decoder, plus latent alignment."""

import copy
from typing import Optional, Union

import torch
from mmpretrain.models.selfsup import BaseSelfSupervisor
from mmpretrain.structures import DataSample

from cae_mm.registry import MODELS
from ..layers import PatchMask


@MODELS.register_module()
class CAE(BaseSelfSupervisor):
    """CAE pretraining; the pipeline supplies the masks (``data_sample.mask``, ``(h, w)`` bool, True = masked).

    Args:
        backbone: encoder config (``cae_mm.CAEVisionTransformer``).
        neck: regressor config (``cae_mm.LatentContextRegressor``).
        head: decoder and loss config (``cae_mm.CAEDecoderHead``).
        target_generator: reconstruction target config (``cae_mm.NormalizedPixelTarget`` or a tokenizer).
        target_momentum: 0 (the paper) encodes the alignment targets with the encoder itself under ``no_grad``;
            m in (0, 1) with a moving average ``m * average + (1 - m) * encoder``, updated before each step.
        data_preprocessor: mmpretrain data preprocessor config.
        init_cfg: mmengine initialisation config.
    """

    def __init__(
        self,
        backbone: dict,
        neck: dict,
        head: dict,
        target_generator: dict,
        target_momentum: float = 0.0,
        data_preprocessor: Optional[dict] = None,
        init_cfg: Optional[dict] = None,
    ) -> None:
        if not 0.0 <= target_momentum < 1.0:
            raise ValueError(f'target_momentum must be in [0, 1), got {target_momentum}')
        super().__init__(
            backbone=backbone,
            neck=neck,
            head=head,
            target_generator=target_generator,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg,
        )
        self.target_momentum = target_momentum
        self.target_encoder = None
        if target_momentum > 0:
            self.target_encoder = copy.deepcopy(self.backbone).requires_grad_(False)
            self.register_load_state_dict_pre_hook(CAE._start_missing_target_encoder)

    def init_weights(self) -> None:
        """Initialise as configured; a moving-average target encoder starts as a copy of the encoder."""
        super().init_weights()
        if self.target_encoder is not None:
            self.target_encoder.load_state_dict(self.backbone.state_dict())

    @staticmethod
    def _start_missing_target_encoder(module: 'CAE', state_dict: dict, prefix: str, *args) -> None:
        """Weights without the moving average start it as a copy of the encoder."""
        if module.target_encoder is None or any(key.startswith(f'{prefix}target_encoder.') for key in state_dict):
            return
        for key in [key for key in state_dict if key.startswith(f'{prefix}backbone.')]:
            state_dict[f'{prefix}target_encoder.{key[len(prefix) + len("backbone.") :]}'] = state_dict[key]

    @torch.no_grad()
    def _update_target_encoder(self) -> None:
        average = list(self.target_encoder.parameters())
        current = [parameter.detach() for parameter in self.backbone.parameters()]
        torch._foreach_lerp_(average, current, 1.0 - self.target_momentum)

    @staticmethod
    def _split_views(inputs: Union[torch.Tensor, list[torch.Tensor]]) -> tuple[torch.Tensor, torch.Tensor]:
        views = [inputs] if isinstance(inputs, torch.Tensor) else inputs
        if len(views) not in (1, 2):
            raise ValueError(f'CAE takes one view or [model view, target view], got {len(views)} views')
        return views[0], views[-1]

    def extract_feat(self, inputs: Union[torch.Tensor, list[torch.Tensor]]) -> tuple[torch.Tensor, ...]:
        """Backbone features of the model view, no mask (``forward(mode='tensor')``)."""
        images, _ = self._split_views(inputs)
        return self.backbone(images)

    def masks_from(self, data_samples: list[DataSample], images: torch.Tensor) -> PatchMask:
        """The pipeline's masks as one checked ``(B, h, w)`` :class:`PatchMask`, True = masked (the step's only check).

        Args:
            data_samples: one per image, each with a ``(h, w)`` ``mask``.
            images: the model view ``(B, 3, H, W)``.

        Raises:
            ValueError: masks missing, not matching the patch grid, or differing in count within the batch.
        """
        if not data_samples or not all('mask' in sample for sample in data_samples):
            raise ValueError(
                'CAE needs a patch mask per image: add cae_mm.BlockwiseMaskGenerator to the pipeline '
                "and pack it with PackInputs (the 'mask' key)"
            )
        mask = torch.stack([sample.mask for sample in data_samples]).to(device=images.device, dtype=torch.bool)
        grid = self.backbone.grid_size(images)
        if mask.dim() != 3 or tuple(mask.shape[1:]) != grid:
            raise ValueError(
                f'masks of shape {tuple(mask.shape[1:])} do not match the {grid[0]}x{grid[1]} patch grid '
                f'of {images.shape[-2]}x{images.shape[-1]} images'
            )
        return PatchMask.from_mask(mask)

    def loss(
        self, inputs: Union[torch.Tensor, list[torch.Tensor]], data_samples: list[DataSample], **kwargs
    ) -> dict[str, torch.Tensor]:
        """CAE's training losses: ``loss_reconstruction`` and ``loss_alignment`` (weighted by λ).

        Args:
            inputs: the model view ``(B, 3, H, W)`` (also the target view), or ``[model view, target view]``.
            data_samples: one per image, each carrying its ``mask``.
            **kwargs: unused.
        """
        images, target_images = self._split_views(inputs)
        mask = self.masks_from(data_samples, images)  # (B, h, w) and its indices, checked once for the whole step
        with torch.no_grad():
            # First, while no activation is held for the backward pass: a tokenizer's feature maps are the largest.
            reconstruction_target = self.target_generator(target_images, mask)
        visible_latents = self.backbone.forward_encoder(images, mask)[:, 1:]  # (B, Nv, C), cls dropped
        latent_pred = self.neck(visible_latents, mask)  # (B, Nm, C')
        with torch.no_grad():
            if self.target_encoder is not None:
                self._update_target_encoder()
            target_encoder = self.backbone if self.target_encoder is None else self.target_encoder
            # The inverted mask keeps exactly the masked patches, in the row-major order of the regressor's queries.
            masked_latents = target_encoder.forward_encoder(images, mask.inverted())[:, 1:]  # (B, Nm, C)
            latent_target = self.neck.project(masked_latents)  # (B, Nm, C')
        return self.head.loss(latent_pred, latent_target, reconstruction_target, mask)
