"""Log the effective rank of the encoder's features on a fixed batch during pretraining."""

import json
from pathlib import Path
from typing import Any, Optional

import torch
from mmengine.dist import is_main_process
from mmengine.hooks import Hook

from cae_mm.evaluation import effective_rank, encoder_tokens
from cae_mm.registry import HOOKS
from .fixed_batch import draw_fixed_batch, evaluation_without_side_effects, unwrapped_model


@HOOKS.register_module()
class FeatureRankHook(Hook):
    """Effective ranks of a fixed batch (:func:`draw_fixed_batch`) before the first, every ``interval`` and after the
    last iteration (main process, training unchanged), logged as ``train/rank_patch`` ``(B * N, C)``, ``rank_cls``
    ``(B, C)`` and, for CAE, ``rank_alignment_target`` ``(B * N_masked, C')``, and appended to ``work_dir/file_name``.

    Args:
        interval: iterations between evaluations.
        num_images: images in the fixed batch (at most the dataset's length).
        seed: seed of the fixed batch's crops, flips and masks.
        file_name: the JSON-lines file under the work dir.

    Raises:
        ValueError: ``interval < 1`` or ``num_images < 2``.
    """

    priority = 'NORMAL'  # before the LoggerHook (BELOW_NORMAL), so the values are logged at the same iteration

    def __init__(
        self, interval: int = 100, num_images: int = 64, seed: int = 0, file_name: str = 'feature_rank.jsonl'
    ) -> None:
        if interval < 1 or num_images < 2:
            raise ValueError(f'interval must be positive and num_images at least 2, got {interval} and {num_images}')
        self.interval = interval
        self.num_images = num_images
        self.seed = seed
        self.file_name = file_name
        self._images: Optional[torch.Tensor] = None
        self._mask: Optional[torch.Tensor] = None

    def before_train(self, runner: Any) -> None:
        if not is_main_process():
            return
        model = unwrapped_model(runner)
        data = draw_fixed_batch(runner, self.num_images, self.seed)
        images = data['inputs']
        self._images = images[0] if isinstance(images, (list, tuple)) else images  # (B, 3, H, W)
        if hasattr(model, 'masks_from') and hasattr(model, 'neck') and hasattr(model.neck, 'project'):
            mask = model.masks_from(data['data_samples'], self._images)
            self._mask = getattr(mask, 'mask', mask)  # (B, h, w) bool, also when wrapped with its indices
        self.record(runner, runner.iter)

    def after_train_iter(self, runner: Any, batch_idx: int, data_batch: Any = None, outputs: Any = None) -> None:
        if self._images is None:
            return
        if self.every_n_train_iters(runner, self.interval) or self.is_last_train_iter(runner):
            self.record(runner, runner.iter + 1)

    def ranks(self, model: torch.nn.Module) -> dict[str, float]:
        """The effective ranks of the fixed batch under the unwrapped ``model``'s current weights."""
        with evaluation_without_side_effects(model), torch.no_grad():
            tokens = encoder_tokens(model.backbone, self._images)  # (B, 1 + N, C)
            ranks = {'rank_patch': effective_rank(tokens[:, 1:]), 'rank_cls': effective_rank(tokens[:, 0])}
            if self._mask is not None:
                # ~mask marks the masked patches visible: the alignment targets of training
                targets = model.neck.project(model.backbone.forward_encoder(self._images, ~self._mask)[:, 1:])
                ranks['rank_alignment_target'] = effective_rank(targets)  # of (B * N_masked, C')
        return ranks

    def record(self, runner: Any, step: int) -> dict[str, float]:
        """Compute, log and append the ranks as those of iteration ``step``; return them."""
        ranks = self.ranks(unwrapped_model(runner))
        for name, value in ranks.items():
            runner.message_hub.update_scalar(f'train/{name}', value)
        path = Path(runner.work_dir) / self.file_name
        with path.open('a') as stream:
            stream.write(json.dumps({'iter': step, **ranks}) + '\n')
        summary = ', '.join(f'{name} {value:.2f}' for name, value in ranks.items())
        runner.logger.info(f'feature rank at iter {step}: {summary}')
        return ranks
