"""Save a picture of the model's pixel reconstructions every N iterations."""

from pathlib import Path
from typing import Any, Optional

import torch
from mmengine.dist import is_main_process
from mmengine.hooks import Hook

from cae_mm.registry import HOOKS
from cae_mm.visualization.pictures import default_scale, save_png
from cae_mm.visualization.reconstruction import reconstruct, reconstruction_picture, require_pixel_target
from .fixed_batch import draw_fixed_batch, evaluation_without_side_effects, unwrapped_model


@HOOKS.register_module()
class ReconstructionVisualizationHook(Hook):
    """Every ``interval`` iterations and after the last, picture the reconstructions of a fixed batch
    (:func:`draw_fixed_batch`) to ``{work_dir}/{folder}/iter_{N}.png`` and the visualizer's ``'reconstruction'``;
    main process and pixel-target models only, training unchanged.

    Args:
        interval: iterations between pictures.
        num_images: rows of the picture (at most the dataset's length).
        seed: seed of the fixed batch's crops, flips and masks.
        folder: sub-folder of the work dir for the PNGs.
        scale: integer enlargement of every panel; None for :func:`default_scale`.

    Raises:
        ValueError: ``interval`` or ``num_images`` below 1, or views of different sizes.
    """

    priority = 'LOW'

    def __init__(
        self,
        interval: int = 500,
        num_images: int = 4,
        seed: int = 0,
        folder: str = 'reconstructions',
        scale: Optional[int] = None,
    ) -> None:
        if interval < 1 or num_images < 1:
            raise ValueError(f'interval and num_images must be positive, got {interval} and {num_images}')
        self.interval = interval
        self.num_images = num_images
        self.seed = seed
        self.folder = folder
        self.scale = scale
        self._images: Optional[torch.Tensor] = None
        self._mask: Optional[torch.Tensor] = None

    def before_train(self, runner: Any) -> None:
        model = unwrapped_model(runner)
        require_pixel_target(model)
        if not is_main_process():
            return
        data = draw_fixed_batch(runner, self.num_images, self.seed)
        images = data['inputs']
        if isinstance(images, (list, tuple)):
            if any(view.shape != images[0].shape for view in images):
                raise ValueError(
                    'the reconstruction picture needs the pixel target on the model view: the pipeline '
                    'gives views of different sizes'
                )
            images = images[0]
        self._images = images  # (B, 3, H, W)
        self._mask = model.masks_from(data['data_samples'], images).mask  # (B, h, w)

    def after_train_iter(self, runner: Any, batch_idx: int, data_batch: Any = None, outputs: Any = None) -> None:
        if self._images is None:
            return
        if self.every_n_train_iters(runner, self.interval) or self.is_last_train_iter(runner):
            self.save_picture(runner, runner.iter + 1)

    def save_picture(self, runner: Any, step: int) -> Path:
        """Picture the fixed batch's reconstructions with the current weights as iteration ``step``; return its path."""
        model = unwrapped_model(runner)
        with evaluation_without_side_effects(model):
            reconstructions = reconstruct(model, self._images, self._mask)
        scale = self.scale or default_scale(self._images.shape[-1])
        picture = reconstruction_picture(self._images, self._mask, reconstructions, model.data_preprocessor, scale)
        path = save_png(picture, Path(runner.work_dir) / self.folder / f'iter_{step}.png')
        runner.visualizer.add_image('reconstruction', picture, step=step)
        runner.logger.info(f'reconstruction picture: {path}')
        return path
