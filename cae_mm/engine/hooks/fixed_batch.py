"""The fixed batch that monitoring hooks evaluate at every interval."""

import contextlib
import random
from typing import Any, Iterator

import numpy as np
import torch
from mmengine.model import is_model_wrapper

from .random_state_hook import capture_random_states, restore_random_states


def unwrapped_model(runner: Any) -> torch.nn.Module:
    """The model of ``runner`` without its DDP/FSDP wrapper."""
    return runner.model.module if is_model_wrapper(runner.model) else runner.model


@contextlib.contextmanager
def evaluation_without_side_effects(model: torch.nn.Module) -> Iterator[None]:
    """Put ``model`` in eval mode; afterwards restore every module's train/eval flag and the random generators."""
    modes = {module: module.training for module in model.modules()}
    states = capture_random_states()
    model.eval()
    try:
        yield
    finally:
        for module, training in modes.items():
            module.training = training
        restore_random_states(states)


def draw_fixed_batch(runner: Any, num_images: int, seed: int) -> dict:
    """The first ``num_images`` training samples, augmented and masked under ``seed``, through the data preprocessor;
    training's random streams are left as they were.

    Args:
        runner: the mmengine runner, before training.
        num_images: samples to take (at most the dataset's length).
        seed: seed of the crops, flips and masks.

    Returns:
        The preprocessor's output: ``inputs`` ``(B, 3, H, W)`` (or a list of views) and ``data_samples``.
    """
    dataset = runner.train_dataloader.dataset
    states = capture_random_states()
    try:
        random.seed(seed)
        np.random.seed(seed)
        torch.manual_seed(seed)
        samples = [dataset[index] for index in range(min(num_images, len(dataset)))]
    finally:
        restore_random_states(states)
    return unwrapped_model(runner).data_preprocessor(runner.train_dataloader.collate_fn(samples), False)
