"""Imported by the training processes of tests/tools/test_distributed_training.py (``custom_imports``).

* ``cae_mm.IndexSeededMaskedImages``: images and masks drawn from a generator seeded by the sample index, so a sample
  is the same whichever process loads it and in whatever order: runs with different process counts see equal data.
* ``cae_mm.WeightRecorderHook``: after every iteration each process saves the full weights it holds (gathered first
  when FSDP shards them) to ``{work_dir}/weights/rank{R}_iter{N}.pth``.
"""

from pathlib import Path
from typing import Any, Optional

import torch
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmpretrain.structures import DataSample
from torch.distributed.fsdp import FullyShardedDataParallel
from torch.utils.data import Dataset

from cae_mm.registry import DATASETS, HOOKS

FSDP_PREFIX = '_fsdp_wrapped_module.'


@DATASETS.register_module()
class IndexSeededMaskedImages(Dataset):
    """``length`` random uint8 images ``(3, size, size)``, each with ``num_masked`` of its patches masked.

    Args:
        length: number of samples.
        image_size: image side in pixels.
        patch_size: patch side; the mask covers the ``image_size / patch_size`` grid.
        num_masked: masked patches per image.
    """

    def __init__(self, length: int, image_size: int, patch_size: int, num_masked: int) -> None:
        self.length = length
        self.image_size = image_size
        self.grid = image_size // patch_size
        self.num_masked = num_masked

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict:
        generator = torch.Generator().manual_seed(1000 + index)
        image = torch.randint(0, 256, (3, self.image_size, self.image_size), generator=generator, dtype=torch.uint8)
        mask = torch.zeros(self.grid * self.grid, dtype=torch.bool)
        mask[torch.randperm(self.grid * self.grid, generator=generator)[: self.num_masked]] = True
        return dict(inputs=image, data_samples=DataSample().set_mask(mask.view(self.grid, self.grid)))


@HOOKS.register_module()
class WeightRecorderHook(Hook):
    """Save this process's full model weights after every training iteration."""

    priority = 'LOWEST'

    def after_train_iter(
        self, runner: Any, batch_idx: int, data_batch: Optional[dict] = None, outputs: Optional[dict] = None
    ) -> None:
        model = runner.model
        if isinstance(model, FullyShardedDataParallel):
            with FullyShardedDataParallel.summon_full_params(model, writeback=False):
                weights = {
                    name.replace(FSDP_PREFIX, ''): parameter.detach().clone()
                    for name, parameter in model.named_parameters()
                }
        else:
            model = model.module if is_model_wrapper(model) else model
            weights = {name: parameter.detach().clone() for name, parameter in model.named_parameters()}
        folder = Path(runner.work_dir) / 'weights'
        folder.mkdir(exist_ok=True)
        torch.save(weights, folder / f'rank{get_rank()}_iter{runner.iter + 1}.pth')
