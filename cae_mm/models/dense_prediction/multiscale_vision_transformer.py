"""The CAE encoder as an mmdet/mmseg backbone: pad the images, tap blocks, adapt the taps to a feature pyramid."""

from typing import Optional, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule

from cae_mm.registry import MODELS
from ..backbones import CAEVisionTransformer


@MODELS.register_module()
class MultiScaleVisionTransformer(BaseModule):
    """A :class:`CAEVisionTransformer` on zero-padded images (any size), followed by a multi-scale adapter.

    Args:
        encoder: :class:`CAEVisionTransformer` keyword arguments but ``type`` and ``init_cfg``; ``out_type='featmap'``.
        adapter: a ``cae_mm.MultiScaleAdapter`` or ``cae_mm.SimpleFeaturePyramid`` config; None returns the taps.
        init_cfg: ``dict(type='Pretrained', checkpoint=FILE, prefix='backbone.')`` goes to the encoder (keys checked).
    """

    def __init__(self, encoder: dict, adapter: Optional[dict] = None, init_cfg: Union[dict, list, None] = None) -> None:
        if isinstance(init_cfg, (list, tuple)) and any(item.get('type') == 'Pretrained' for item in init_cfg):
            raise ValueError('give the Pretrained init_cfg as a dict of its own, so that it reaches the encoder')
        pretrained = init_cfg if isinstance(init_cfg, dict) and init_cfg.get('type') == 'Pretrained' else None
        super().__init__(init_cfg=None if pretrained else init_cfg)
        if pretrained is not None:
            unknown = set(pretrained) - {'type', 'checkpoint', 'prefix'}
            if unknown:
                raise ValueError(f'the Pretrained init_cfg takes checkpoint and prefix; got {sorted(unknown)}')
            if not pretrained.get('checkpoint'):
                raise ValueError(
                    'the Pretrained init_cfg needs checkpoint=PATH (or set init_cfg=None to start from random weights)'
                )
        encoder = dict(encoder)
        for key, why in (
            ('type', 'the encoder is always cae_mm.CAEVisionTransformer'),
            ('init_cfg', 'put the Pretrained init_cfg on this backbone, where its keys are checked'),
        ):
            if key in encoder:
                raise ValueError(f'encoder must not set {key!r}: {why}')
        if encoder.setdefault('out_type', 'featmap') != 'featmap':
            raise ValueError(f"a detection/segmentation backbone needs out_type='featmap', got {encoder['out_type']!r}")
        self.encoder = CAEVisionTransformer(**encoder, init_cfg=pretrained)
        self.adapter = None
        if adapter is not None:
            self.adapter = MODELS.build(dict(adapter, in_channels=adapter.get('in_channels', self.encoder.embed_dims)))
            taps = len(self.encoder.out_indices)
            if taps != self.adapter.num_inputs:
                raise ValueError(
                    f'{type(self.adapter).__name__} takes {self.adapter.num_inputs} feature maps but the '
                    f'encoder taps {taps} blocks (out_indices={self.encoder.out_indices})'
                )

    def pad_to_patch_multiple(self, images: torch.Tensor) -> torch.Tensor:
        """Zero-pad ``(B, C, H, W)`` at the bottom/right up to multiples of the patch size."""
        patch = self.encoder.patch_size
        height, width = images.shape[-2:]
        return F.pad(images, (0, -width % patch, 0, -height % patch))

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """The adapter's maps of ``images`` ``(B, 3, H, W)`` (any ``H``, ``W``), or without an adapter the encoder's
        ``(B, C, ceil(H / p), ceil(W / p))`` taps."""
        features = self.encoder(self.pad_to_patch_multiple(images))
        return features if self.adapter is None else self.adapter(features)

    def get_layer_depth(self, param_name: str, prefix: str = '') -> tuple[int, int]:
        """``(layer_id, num_layers + 2)`` for lr decay (the encoder's ids; the adapter counts as the last layer) of the
        full ``param_name``, e.g. ``'backbone.encoder.layers.3.mlp.fc1.weight'``, ``prefix`` being this backbone's
        prefix in it, e.g. ``'backbone.'``."""
        return self.encoder.get_layer_depth(param_name, prefix + 'encoder.')
