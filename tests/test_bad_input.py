"""Bad input, one table row each: what a user can hand cae_mm, and the clear error or the documented recovery.

A row is ``(action, expected error, pattern the message must match)``; ``None`` as the error means the input is
handled (the action asserts how: it trains, or it loads as documented). docs/troubleshooting.md explains each error.
"""

import contextlib
import io
import os
import shutil
import zlib
from pathlib import Path
from typing import Callable, Optional

import cv2
import numpy as np
import pytest
import torch
from mmcv.transforms import BaseTransform
from mmengine.config import Config
from mmengine.dataset import Compose, default_collate
from mmengine.optim import OptimWrapper
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import DefaultScope
from mmengine.registry import RUNNERS
from mmpretrain.registry import DATASETS
from mmpretrain.structures import DataSample
from PIL import Image

from cae_mm.checkpoints import CheckpointMismatchError, CheckpointReadError
from cae_mm.models.targets import TokenizerWeightsError
from cae_mm.registry import HOOKS, MODELS, TRANSFORMS
from tests.conftest import TEST_CONFIG, tiny_cae_config
from tests.input_table import Workspace, load_from, run_row, tiny_cae


# ---------------------------------------------------------------------------------------------------------------------
# Helpers: images, the test config's pipeline, one training step, a short in-process training run.


def photo(height: int, width: int) -> np.ndarray:
    """A smooth RGB test picture (compresses like a photograph), ``(H, W, 3)`` uint8."""
    rows, columns = np.mgrid[0:height, 0:width]
    return np.stack(
        [rows * 255 // max(height - 1, 1), columns * 255 // max(width - 1, 1), (rows + columns) % 256], -1
    ).astype(np.uint8)


def save(workspace: Workspace, name: str, image: Image.Image, **options) -> Path:
    path = workspace.folder / name
    image.save(path, **options)
    return path


def rgb(height: int = 96, width: int = 128) -> Image.Image:
    return Image.fromarray(photo(height, width))


def damaged(path: Path, damage: Callable[[bytes], bytes]) -> Path:
    path.write_bytes(damage(path.read_bytes()))
    return path


def test_pipeline(**mask_generator_changes) -> list[dict]:
    """The test config's pipeline (64 px crop, 8 px patches, 32 of 64 masked), with mask generator changes."""
    pipeline = Config.fromfile(TEST_CONFIG).train_pipeline
    pipeline[3].update(mask_generator_changes)
    return pipeline


test_pipeline.__test__ = False  # a helper, not a test


def load(path: Path, pipeline: Optional[list[dict]] = None) -> dict:
    """Run one image file through the (test config's) training pipeline."""
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        return Compose(pipeline or test_pipeline())(dict(img_path=str(path)))


def train_one_step(paths: list[Path], model_changes: Optional[dict] = None) -> None:
    """One SGD step of the tiny CAE on these files: the loss must be finite and every trained weight must move."""
    cfg = Config.fromfile(TEST_CONFIG)
    cfg.merge_from_dict({f'model.{key}': value for key, value in (model_changes or {}).items()})
    model = MODELS.build(cfg.model)
    batch = default_collate([load(path) for path in paths])
    assert batch['inputs'].shape == (len(paths), 3, 64, 64)
    before = {name: parameter.detach().clone() for name, parameter in model.named_parameters()}
    losses = model.train_step(batch, OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1)))
    assert all(torch.isfinite(value) for value in losses.values()), losses
    assert not any(
        torch.equal(before[name], parameter)
        for name, parameter in model.named_parameters()
        if name.startswith('backbone.layers')
    )


def trains(make_image: Callable[[Workspace], Path]) -> Callable[[Workspace], None]:
    return lambda workspace: train_one_step([make_image(workspace)] * 2)


def run_training(workspace: Workspace, changes: dict, max_iters: int = 2) -> None:
    """Train the tiny test config in this process on the bundled photographs."""
    cfg = Config.fromfile(TEST_CONFIG)
    cfg.work_dir = str(workspace.folder / 'work_dir')
    cfg.train_dataloader.dataset.data_root = str(workspace.demo_images)
    cfg.train_cfg.max_iters = max_iters
    cfg.merge_from_dict(changes)
    RUNNERS.build(cfg).train()


@MMENGINE_TRANSFORMS.register_module(force=True)
class PutNaNInTheImageForTest(BaseTransform):
    """A faulty float transform, as a user's own pipeline step might be: the image becomes float with a NaN."""

    def transform(self, results: dict) -> dict:
        image = results['img'].astype(np.float32)
        image[0, 0, 0] = np.nan
        results['img'] = image
        return results


def nan_pipeline() -> list[dict]:
    pipeline = test_pipeline()
    pipeline.insert(3, dict(type='PutNaNInTheImageForTest'))
    return pipeline


# ---------------------------------------------------------------------------------------------------------------------
# Rows: image files.


def text_file_named_jpg(workspace: Workspace) -> None:
    path = workspace.folder / 'notes.jpg'
    path.write_text('not an image')
    load(path)


def empty_image_file(workspace: Workspace) -> None:
    path = workspace.folder / 'empty.jpg'
    path.write_bytes(b'')
    load(path)


def truncated_jpeg(workspace: Workspace) -> None:
    load(damaged(save(workspace, 'truncated.jpg', rgb()), lambda data: data[: len(data) // 2]))


def truncated_png(workspace: Workspace) -> None:
    load(damaged(save(workspace, 'truncated.png', rgb()), lambda data: data[:-100]))


def png_with_a_flipped_byte(workspace: Workspace) -> None:
    def flip(data: bytes) -> bytes:
        middle = len(data) // 2
        return data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1 :]

    load(damaged(save(workspace, 'flipped.png', rgb()), flip))


def gif_image(workspace: Workspace) -> None:
    load(save(workspace, 'animation.gif', rgb()))


def missing_image_file(workspace: Workspace) -> None:
    load(workspace.folder / 'deleted.png')


def jpeg_with_damaged_scan_data_decodes(workspace: Workspace) -> None:
    """Documented limitation: JPEG has no checksum, so damage inside the scan data decodes to wrong pixels."""

    def scribble(data: bytes) -> bytes:
        middle = len(data) // 2
        return data[:middle] + b'\x13\x37\x00\xaa\x55\x01\x02\x03' + data[middle + 8 :]

    path = damaged(save(workspace, 'scribbled.jpg', rgb(240, 320), quality=90), scribble)
    assert load(path)['inputs'].shape == (3, 64, 64)


def grayscale_png(workspace: Workspace) -> Path:
    return save(workspace, 'gray.png', rgb().convert('L'))


def grayscale_jpeg(workspace: Workspace) -> Path:
    return save(workspace, 'gray.jpg', rgb().convert('L'))


def rgba_png(workspace: Workspace) -> Path:
    image = rgb().convert('RGBA')
    image.putalpha(Image.fromarray(photo(96, 128)[..., 0]))
    return save(workspace, 'rgba.png', image)


def grayscale_with_alpha_png(workspace: Workspace) -> Path:
    return save(workspace, 'gray_alpha.png', rgb().convert('LA'))


def palette_png(workspace: Workspace) -> Path:
    return save(workspace, 'palette.png', rgb().convert('P'))


def one_bit_png(workspace: Workspace) -> Path:
    return save(workspace, 'bilevel.png', rgb().convert('1'))


def sixteen_bit_png(workspace: Workspace) -> Path:
    path = workspace.folder / 'deep.png'
    cv2.imwrite(str(path), (photo(96, 128).astype(np.uint16) * 257))
    return path


def cmyk_jpeg(workspace: Workspace) -> Path:
    return save(workspace, 'cmyk.jpg', rgb().convert('CMYK'))


def large_jpeg(workspace: Workspace) -> Path:
    """3000x2000 (6 megapixels): decoded whole, then cropped; slower per image, nothing else changes."""
    return save(workspace, 'large.jpg', rgb(2000, 3000), quality=85)


def smaller_than_the_crop(workspace: Workspace) -> Path:
    """20x20 < 64: the random crop is upsampled to 64 px (as torchvision's RandomResizedCrop does)."""
    return save(workspace, 'small.png', rgb(20, 20))


def one_pixel_image(workspace: Workspace) -> Path:
    return save(workspace, 'pixel.png', rgb(1, 1))


def extreme_aspect_ratio(workspace: Workspace) -> Path:
    """2000x3: no crop fits the 3/4..4/3 ratio range, so the centre crop fallback is used."""
    return save(workspace, 'sliver.png', rgb(2000, 3))


def png_declaring_20000x20000_pixels(workspace: Workspace) -> None:
    """A small PNG whose header claims 20000x20000 (decoding would take 1.2 GB, 4 GB at the peak): refused unread."""
    path = save(workspace, 'bomb.png', rgb(8, 8))
    data = bytearray(path.read_bytes())
    header = (20000).to_bytes(4, 'big') * 2 + bytes(data[24:29])  # IHDR: width, height, then depth and methods
    data[16:29] = header
    data[29:33] = zlib.crc32(b'IHDR' + header).to_bytes(4, 'big')
    path.write_bytes(bytes(data))
    load(path)


def data_folder_with_a_text_file_trains(workspace: Workspace) -> None:
    """A README.txt among the photographs: the dataset lists image extensions only, so it is never loaded."""
    folder = workspace.folder / 'photos'
    shutil.copytree(workspace.demo_images, folder)
    (folder / 'README.txt').write_text('photographs for the demo')
    run_training(workspace, {'train_dataloader.dataset.data_root': str(folder)}, max_iters=1)


# ---------------------------------------------------------------------------------------------------------------------
# Rows: patch sizes and masks.


def crop_not_a_multiple_of_the_patch_size(workspace: Workspace) -> None:
    pipeline = test_pipeline()
    pipeline[2]['size'] = 60
    load(save(workspace, 'photo.png', rgb()), pipeline)


def model_loss(samples: list[dict]) -> None:
    """The loss of the test config's model on a batch of these pipeline outputs."""
    model = MODELS.build(Config.fromfile(TEST_CONFIG).model)
    batch = model.data_preprocessor(default_collate(samples), training=True)
    model.loss(batch['inputs'], batch['data_samples'])


def mask_generator_and_model_disagree_on_the_patch_size(workspace: Workspace) -> None:
    path = save(workspace, 'photo.png', rgb())
    sample = load(path, test_pipeline(patch_size=16, num_masked_patches=8, min_patches_per_block=2))
    model_loss([sample, sample])


def encoder_input_not_a_multiple_of_the_patch_size(workspace: Workspace) -> None:
    backbone = MODELS.build(dict(type='cae_mm.CAEVisionTransformer', arch='test', patch_size=8))
    backbone(torch.zeros(1, 3, 60, 60))


def images_smaller_than_the_relative_position_grid(workspace: Workspace) -> None:
    """Fine-tuning's relative position bias is learned for one grid: 32 px images give 4x4 patches, not 8x8."""
    backbone = MODELS.build(
        dict(
            type='cae_mm.CAEVisionTransformer',
            arch='test',
            patch_size=8,
            relative_position_bias_grid=(8, 8),
            out_type='cls_token',
        )
    )
    backbone(torch.zeros(1, 3, 32, 32))


def detection_backbone_patch_size_zero(workspace: Workspace) -> None:
    MODELS.build(dict(type='cae_mm.MultiScaleVisionTransformer', encoder=dict(arch='test', patch_size=0)))


def pixel_target_patch_size_differs_from_the_model(workspace: Workspace) -> None:
    train_one_step([save(workspace, 'photo.png', rgb())] * 2, {'target_generator.patch_size': 16})


def mask_generator(**options) -> Callable[[Workspace], None]:
    return lambda workspace: load(save(workspace, 'photo.png', rgb()), test_pipeline(**options))


def crop(**options) -> Callable[[Workspace], None]:
    """Load a photograph with the test pipeline's crop changed."""

    def run(workspace: Workspace) -> None:
        pipeline = test_pipeline()
        pipeline[2].update(options)
        load(save(workspace, 'photo.png', rgb()), pipeline)

    return run


def masks_of_unequal_counts_in_a_batch(workspace: Workspace) -> None:
    path = save(workspace, 'photo.png', rgb())
    model_loss([load(path, test_pipeline(num_masked_patches=count)) for count in (32, 24)])


def pipeline_without_a_mask_generator(workspace: Workspace) -> None:
    pipeline = test_pipeline()
    del pipeline[3]
    model_loss([load(save(workspace, 'photo.png', rgb()), pipeline)])


# ---------------------------------------------------------------------------------------------------------------------
# Rows: tokenizer weights.

SMALL_DALLE = dict(type='cae_mm.DALLETokenizer', hidden_dims=8, blocks_per_group=1, vocab_size=16)


def missing_tokenizer_weights(workspace: Workspace) -> None:
    MODELS.build(dict(SMALL_DALLE, checkpoint=str(workspace.folder / 'dalle_encoder.pth')))


def corrupt_tokenizer_weights(workspace: Workspace) -> None:
    tokenizer = MODELS.build(dict(SMALL_DALLE, checkpoint=None))
    path = workspace.folder / 'dalle_encoder.pth'
    torch.save(dict(tokenizer.named_buffers()), path)
    damaged(path, lambda data: data[: len(data) // 2])
    MODELS.build(dict(SMALL_DALLE, checkpoint=str(path)))


# ---------------------------------------------------------------------------------------------------------------------
# Rows: checkpoints.


def saved_checkpoint(workspace: Workspace, state_dict: dict, name: str = 'iter_4.pth') -> Path:
    path = workspace.folder / name
    torch.save(dict(meta=dict(iter=4), state_dict=state_dict), path)
    return path


def truncated_checkpoint(workspace: Workspace) -> None:
    path = damaged(saved_checkpoint(workspace, tiny_cae().state_dict()), lambda data: data[: len(data) * 2 // 3])
    load_from(workspace, str(path))


def missing_checkpoint(workspace: Workspace) -> None:
    load_from(workspace, str(workspace.folder / 'iter_404.pth'))


class RunsCode:
    """Unpickles to a call of ``os.system``: what a malicious checkpoint holds."""

    def __reduce__(self):
        return os.system, ('echo owned',)


def checkpoint_that_runs_code(workspace: Workspace) -> None:
    load_from(workspace, str(saved_checkpoint(workspace, {'backbone.cls_token': RunsCode()})))


def backbone(checkpoint: Path) -> torch.nn.Module:
    model = MODELS.build(
        dict(
            type='cae_mm.CAEVisionTransformer',
            arch='test',
            patch_size=8,
            init_cfg=dict(type='Pretrained', checkpoint=str(checkpoint), prefix='backbone.'),
        )
    )
    model.init_weights()
    return model


def pretrained_with_renamed_keys(workspace: Workspace) -> None:
    state_dict = {key.replace('mlp.fc1', 'mlp.dense1'): value for key, value in tiny_cae().state_dict().items()}
    backbone(saved_checkpoint(workspace, state_dict))


def pretrained_with_other_shapes(workspace: Workspace) -> None:
    other_patch_size = MODELS.build(tiny_cae_config(patch_size=16))
    backbone(saved_checkpoint(workspace, other_patch_size.state_dict()))


def load_from_an_encoder_only_checkpoint(workspace: Workspace) -> None:
    encoder = MODELS.build(dict(type='cae_mm.CAEVisionTransformer', arch='test', patch_size=8))
    load_from(workspace, str(saved_checkpoint(workspace, encoder.state_dict())))


def load_from_with_one_tensor_of_another_shape_warns(workspace: Workspace) -> None:
    """Documented: ``load_from`` is mmengine's non-strict load (heads may be swapped); it lists every mismatch."""
    state_dict = tiny_cae().state_dict()
    state_dict['head.predictor.weight'] = torch.zeros(10, 64)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        load_from(workspace, str(saved_checkpoint(workspace, state_dict)))
    assert 'size mismatch for head.predictor.weight' in printed.getvalue()
    assert 'torch.Size([10, 64])' in printed.getvalue() and 'torch.Size([192, 64])' in printed.getvalue()


# ---------------------------------------------------------------------------------------------------------------------
# Rows: config typos.


def build_model(**changes) -> Callable[[Workspace], None]:
    def build(workspace: Workspace) -> None:
        config = tiny_cae_config()
        for part, options in changes.items():
            if isinstance(options, dict):
                config[part].update(options)
            else:
                config[part] = options
        MODELS.build(config)

    return build


def unknown_hook_option(workspace: Workspace) -> None:
    HOOKS.build(dict(type='cae_mm.RandomStateHook', interval=10))


def unknown_transform_option(workspace: Workspace) -> None:
    TRANSFORMS.build(dict(type='cae_mm.BlockwiseMaskGenerator', num_masked_patch=98))


# ---------------------------------------------------------------------------------------------------------------------
# Rows: datasets.


def dataset(**options) -> Callable[[Workspace], None]:
    def build(workspace: Workspace) -> None:
        (workspace.folder / 'no_images').mkdir()
        (workspace.folder / 'empty.txt').write_text('')
        root = {key: str(workspace.folder / value) for key, value in options.items() if key == 'data_root'}
        DATASETS.build(dict(type='CustomDataset', with_label=False, pipeline=[], **{**options, **root}))

    return build


# ---------------------------------------------------------------------------------------------------------------------
# Rows: NaN.


def nan_pixels_from_the_pipeline(workspace: Workspace) -> None:
    run_training(workspace, {'train_dataloader.dataset.pipeline': nan_pipeline()})


def zero_std_in_the_data_preprocessor(workspace: Workspace) -> None:
    run_training(workspace, {'model.data_preprocessor.std': [0.0, 0.0, 0.0]})


def learning_rate(value: float) -> Callable[[Workspace], None]:
    """Train with this AdamW learning rate and no warmup."""
    return lambda workspace: run_training(workspace, {'optim_wrapper.optimizer.lr': value, 'param_scheduler': []})


def zero_iterations(workspace: Workspace) -> None:
    run_training(workspace, {}, max_iters=0)


def warmup_longer_than_the_run_warns(workspace: Workspace) -> None:
    """A 100-iteration warmup in a 2-iteration run trains (shortened runs are legitimate) and says so."""
    warmup = [dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=100)]
    # A name of its own: a runner started in the same second as another test's would share that test's logger.
    run_training(workspace, {'param_scheduler': warmup, 'experiment_name': workspace.folder.name})
    (log,) = (workspace.folder / 'work_dir').glob('*/*.log')  # the run's log file
    assert (
        'param_scheduler[0] (LinearLR) ends at 100 iterations but training stops after 2: the learning rate never '
        'reaches the value the schedule was written for'
    ) in log.read_text()


# ---------------------------------------------------------------------------------------------------------------------
# Rows: probes.


def probe_batch_of_one(head: dict) -> Callable[[Workspace], None]:
    """One training step of a probe head on a batch of one sample (a batch_size of 1, or an epoch's last batch)."""

    def run(workspace: Workspace) -> None:
        probe = MODELS.build(dict(head, num_classes=3, in_channels=64))
        features = torch.randn(1, 64) if head['type'] == 'cae_mm.LinearProbeHead' else torch.randn(1, 5, 64)
        probe.train().loss((features,), [DataSample().set_gt_label(2)])

    return run


# ---------------------------------------------------------------------------------------------------------------------
# The table.

BAD_INPUTS = [
    # image files
    pytest.param(text_file_named_jpg, ValueError, r'cannot decode .*notes\.jpg as an image', id='image-not-an-image'),
    pytest.param(empty_image_file, ValueError, r'empty\.jpg is an empty file \(0 bytes\)', id='image-empty-file'),
    pytest.param(truncated_jpeg, ValueError, r'cannot decode .*truncated\.jpg as an image', id='image-truncated-jpeg'),
    pytest.param(truncated_png, ValueError, r'cannot decode .*truncated\.png as an image', id='image-truncated-png'),
    pytest.param(
        png_with_a_flipped_byte, ValueError, r'cannot decode .*flipped\.png as an image', id='image-corrupt-png'
    ),
    pytest.param(
        gif_image, ValueError, r'cannot decode .*animation\.gif as an image: .*GIF: convert it to PNG', id='image-gif'
    ),
    pytest.param(
        png_declaring_20000x20000_pixels,
        ValueError,
        r'bomb\.png declares more than 178956970 pixels \(limit: max_pixels=100000000\); refused before '
        r'decoding',
        id='image-20000x20000-header',
    ),
    pytest.param(data_folder_with_a_text_file_trains, None, '', id='data-folder-with-a-text-file-trains'),
    pytest.param(missing_image_file, FileNotFoundError, r'deleted\.png', id='image-missing'),
    pytest.param(jpeg_with_damaged_scan_data_decodes, None, '', id='image-corrupt-jpeg-decodes'),
    pytest.param(trains(grayscale_png), None, '', id='image-grayscale-png-trains'),
    pytest.param(trains(grayscale_jpeg), None, '', id='image-grayscale-jpeg-trains'),
    pytest.param(trains(rgba_png), None, '', id='image-rgba-trains'),
    pytest.param(trains(grayscale_with_alpha_png), None, '', id='image-grayscale-alpha-trains'),
    pytest.param(trains(palette_png), None, '', id='image-palette-trains'),
    pytest.param(trains(one_bit_png), None, '', id='image-1-bit-trains'),
    pytest.param(trains(sixteen_bit_png), None, '', id='image-16-bit-trains'),
    pytest.param(trains(cmyk_jpeg), None, '', id='image-cmyk-trains'),
    pytest.param(trains(large_jpeg), None, '', id='image-6-megapixel-trains'),
    pytest.param(trains(smaller_than_the_crop), None, '', id='image-smaller-than-crop-trains'),
    pytest.param(trains(one_pixel_image), None, '', id='image-1x1-trains'),
    pytest.param(trains(extreme_aspect_ratio), None, '', id='image-2000x3-trains'),
    # patch sizes and masks
    pytest.param(
        crop_not_a_multiple_of_the_patch_size,
        ValueError,
        r'image size 60x60 is not divisible by the patch size 8',
        id='crop-not-patch-multiple',
    ),
    pytest.param(
        mask_generator_and_model_disagree_on_the_patch_size,
        ValueError,
        r'masks of shape \(4, 4\) do not match the 8x8 patch grid',
        id='mask-patch-size-differs',
    ),
    pytest.param(
        encoder_input_not_a_multiple_of_the_patch_size,
        ValueError,
        r'image size 60x60 is not divisible by the patch size 8',
        id='encoder-input-not-patch-multiple',
    ),
    pytest.param(
        pixel_target_patch_size_differs_from_the_model,
        ValueError,
        r'mask covers 64 patches, the images have 16',
        id='pixel-target-patch-size-differs',
    ),
    pytest.param(
        mask_generator(num_masked_patches=0),
        ValueError,
        r'num_masked_patches must be a positive integer .*, got 0',
        id='mask-zero',
    ),
    pytest.param(
        mask_generator(num_masked_patches=-3),
        ValueError,
        r'num_masked_patches must be a positive integer .*, got -3',
        id='mask-negative',
    ),
    pytest.param(
        mask_generator(num_masked_patches=64),
        ValueError,
        r'cannot mask 64 patches of a 8x8 grid \(64 patches\): at least one patch must stay visible',
        id='mask-all-patches',
    ),
    pytest.param(
        mask_generator(num_masked_patches=100),
        ValueError,
        r'cannot mask 100 patches of a 8x8 grid',
        id='mask-more-than-patches',
    ),
    pytest.param(
        mask_generator(min_patches_per_block=10, max_patches_per_block=5),
        ValueError,
        r'min_patches_per_block <= max_patches_per_block, got 10 and 5',
        id='mask-min-above-max',
    ),
    pytest.param(
        mask_generator(aspect_ratio_range=(3.0, 0.3)),
        ValueError,
        r'aspect_ratio_range must satisfy',
        id='mask-aspect-range-reversed',
    ),
    pytest.param(
        mask_generator(num_masked_patches=32.0),
        ValueError,
        r'num_masked_patches must be a positive integer .*, got 32\.0',
        id='mask-count-whole-float',
    ),
    pytest.param(
        mask_generator(num_masked_patches=0.5),
        ValueError,
        r'num_masked_patches must be a positive integer .*, got 0\.5',
        id='mask-count-fraction',
    ),
    pytest.param(
        mask_generator(patch_size=0),
        ValueError,
        r'BlockwiseMaskGenerator patch_size must be a positive integer .*, got 0',
        id='mask-patch-size-zero',
    ),
    pytest.param(
        mask_generator(attempts_per_block=0),
        ValueError,
        r'BlockwiseMaskGenerator attempts_per_block must be a positive integer, got 0',
        id='mask-attempts-zero',
    ),
    pytest.param(
        crop(size=0),
        ValueError,
        r'TwoViewRandomResizedCrop size must be a positive integer .*, got 0',
        id='crop-size-zero',
    ),
    pytest.param(
        crop(size=-64),
        ValueError,
        r'TwoViewRandomResizedCrop size must be a positive integer .*, got -64',
        id='crop-size-negative',
    ),
    pytest.param(
        crop(size=64.5),
        ValueError,
        r'TwoViewRandomResizedCrop size must be a positive integer .*, got 64\.5',
        id='crop-size-float',
    ),
    pytest.param(
        crop(second_size=0),
        ValueError,
        r'TwoViewRandomResizedCrop second_size must be a positive integer',
        id='crop-second-size-zero',
    ),
    pytest.param(
        crop(interpolation='bicubik'),
        ValueError,
        r"TwoViewRandomResizedCrop interpolation must be one of .*got 'bicubik'",
        id='crop-interpolation-typo',
    ),
    pytest.param(
        build_model(backbone=dict(patch_size=0)),
        ValueError,
        r'CAEVisionTransformer patch_size must be a positive integer .*, got 0',
        id='patch-size-zero',
    ),
    pytest.param(
        build_model(backbone=dict(patch_size=-8)),
        ValueError,
        r'CAEVisionTransformer patch_size must be a positive integer .*, got -8',
        id='patch-size-negative',
    ),
    pytest.param(
        build_model(backbone=dict(patch_size=8.0)),
        ValueError,
        r'CAEVisionTransformer patch_size must be a positive integer .*, got 8\.0',
        id='patch-size-float',
    ),
    pytest.param(
        detection_backbone_patch_size_zero,
        ValueError,
        r'CAEVisionTransformer patch_size must be a positive integer .*, got 0',
        id='patch-size-zero-detection',
    ),
    pytest.param(
        images_smaller_than_the_relative_position_grid,
        ValueError,
        r'relative position bias is for a 8x8 patch grid but the images give 4x4; resize the images to 64x64',
        id='image-size-differs-from-position-grid',
    ),
    pytest.param(
        masks_of_unequal_counts_in_a_batch,
        ValueError,
        r'every image in a batch must mask the same number of patches',
        id='masks-unequal-in-batch',
    ),
    pytest.param(
        pipeline_without_a_mask_generator, ValueError, r'add cae_mm\.BlockwiseMaskGenerator', id='mask-missing'
    ),
    # tokenizer weights
    pytest.param(
        missing_tokenizer_weights,
        TokenizerWeightsError,
        r'weights not found at .*dalle_encoder\.pth',
        id='tokenizer-missing',
    ),
    pytest.param(
        corrupt_tokenizer_weights,
        TokenizerWeightsError,
        r'cannot read .* weights .*dalle_encoder\.pth: the file is truncated',
        id='tokenizer-corrupt',
    ),
    # checkpoints
    pytest.param(
        truncated_checkpoint,
        CheckpointReadError,
        r'cannot read checkpoint .*iter_4\.pth: .*truncated',
        id='checkpoint-truncated',
    ),
    pytest.param(
        missing_checkpoint, CheckpointReadError, r'checkpoint .*iter_404\.pth does not exist', id='checkpoint-missing'
    ),
    pytest.param(
        checkpoint_that_runs_code,
        CheckpointReadError,
        r'refusing to load checkpoint .*iter_4\.pth: it refers to .*system',
        id='checkpoint-runs-code',
    ),
    pytest.param(
        pretrained_with_renamed_keys,
        CheckpointMismatchError,
        r'layers\.0\.mlp\.fc1\.weight',
        id='pretrained-keys-mismatch',
    ),
    pytest.param(
        pretrained_with_other_shapes, CheckpointMismatchError, r'patch_embed\.weight', id='pretrained-shapes-mismatch'
    ),
    pytest.param(
        load_from_an_encoder_only_checkpoint,
        CheckpointMismatchError,
        r"none of the .* matches a parameter of CAE.*holds only the model's 'backbone'",
        id='load-from-encoder-only',
    ),
    pytest.param(load_from_with_one_tensor_of_another_shape_warns, None, '', id='load-from-shape-mismatch-warns'),
    # config typos
    pytest.param(
        build_model(backbone=dict(drop_path=0.1)),
        TypeError,
        r"unexpected keyword argument 'drop_path'",
        id='typo-backbone-option',
    ),
    pytest.param(
        build_model(neck=dict(num_head=4)),
        TypeError,
        r"unexpected keyword argument 'num_head'",
        id='typo-regressor-option',
    ),
    pytest.param(
        build_model(head=dict(loss='mse')), TypeError, r"unexpected keyword argument 'loss'", id='typo-head-option'
    ),
    pytest.param(
        build_model(backbone=dict(type='cae_mm.CAEVisionTransfomer')),
        KeyError,
        r'cae_mm\.CAEVisionTransfomer is not in the .*model registry',
        id='typo-type-name',
    ),
    pytest.param(build_model(backbone=dict(arch='tiniest')), ValueError, r"unknown arch 'tiniest'", id='typo-arch'),
    pytest.param(
        unknown_transform_option,
        TypeError,
        r"unexpected keyword argument 'num_masked_patch'",
        id='typo-transform-option',
    ),
    pytest.param(unknown_hook_option, TypeError, r"unexpected keyword argument 'interval'", id='typo-hook-option'),
    # config values out of range
    pytest.param(
        build_model(backbone=dict(drop_path_rate=2.0)),
        ValueError,
        r'CAEVisionTransformer drop_path_rate must be a number in \[0, 1\), got 2\.0',
        id='drop-path-2',
    ),
    pytest.param(
        build_model(backbone=dict(drop_path_rate=-0.1)),
        ValueError,
        r'CAEVisionTransformer drop_path_rate must be a number in \[0, 1\), got -0\.1',
        id='drop-path-negative',
    ),
    pytest.param(
        build_model(neck=dict(drop_path_rate=1.0)),
        ValueError,
        r'LatentContextRegressor drop_path_rate must be a number in \[0, 1\), got 1\.0',
        id='drop-path-1-regressor',
    ),
    pytest.param(
        build_model(head=dict(drop_path_rate=1.5)),
        ValueError,
        r'CAEDecoderHead drop_path_rate must be a number in \[0, 1\), got 1\.5',
        id='drop-path-decoder',
    ),
    pytest.param(
        build_model(backbone=dict(dropout=1.0)),
        ValueError,
        r'CAEVisionTransformer dropout must be a number in \[0, 1\), got 1\.0',
        id='dropout-1',
    ),
    pytest.param(
        build_model(neck=dict(depth=0)),
        ValueError,
        r'LatentContextRegressor depth must be a positive integer .*, got 0',
        id='regressor-depth-zero',
    ),
    pytest.param(
        build_model(backbone=dict(in_channels=0)),
        ValueError,
        r'CAEVisionTransformer in_channels must be a positive integer .*, got 0',
        id='in-channels-zero',
    ),
    pytest.param(
        probe_batch_of_one(dict(type='cae_mm.LinearProbeHead')),
        ValueError,
        r'LinearProbeHead trains a BatchNorm, .* this batch has 1: set train_dataloader\.batch_size >= 2',
        id='linear-probe-batch-of-one',
    ),
    pytest.param(
        probe_batch_of_one(dict(type='cae_mm.AttentiveProbeHead', num_heads=4)),
        ValueError,
        r'AttentiveProbeHead trains a BatchNorm, .* this batch has 1: set train_dataloader\.batch_size >= 2',
        id='attentive-probe-batch-of-one',
    ),
    # datasets
    pytest.param(
        dataset(data_root='no_images'),
        RuntimeError,
        r'Found 0 files in subfolders of: .*no_images',
        id='dataset-empty-folder',
    ),
    pytest.param(dataset(data_root='not_there'), FileNotFoundError, r'not_there', id='dataset-missing-folder'),
    pytest.param(
        dataset(data_root='', ann_file='empty.txt'),
        ValueError,
        r'need at least one array to concatenate',
        id='dataset-empty-annotation-file',
    ),
    # NaN
    pytest.param(
        nan_pixels_from_the_pipeline,
        FloatingPointError,
        r'non-finite loss at iteration 1 .*the input batch holds NaN',
        id='nan-pixels',
    ),
    pytest.param(
        zero_std_in_the_data_preprocessor,
        FloatingPointError,
        r'non-finite loss at iteration 1 .*data preprocessor turns it into NaN or inf',
        id='nan-from-zero-std',
    ),
    pytest.param(
        learning_rate(1e30),
        FloatingPointError,
        r'non-finite loss at iteration 2 .*are NaN or inf after this step: training diverged; the learning '
        r'rate is most likely too large: lower it \(optim_wrapper\.optimizer\.lr, 1e\+30 at this step\)',
        id='lr-overflows-adam',
    ),
    pytest.param(
        learning_rate(1e38),
        ValueError,
        r'learning rate of parameter group 0 is 1e\+38: the optimizer step would overflow float32 .*set '
        r'optim_wrapper\.optimizer\.lr',
        id='lr-beyond-float32',
    ),
    pytest.param(learning_rate(-1e-3), ValueError, r'Invalid learning rate: -0\.001', id='lr-negative'),
    pytest.param(
        lambda workspace: run_training(workspace, {'optim_wrapper.optimizer.weight_decay': -0.05}),
        ValueError,
        r'Invalid weight_decay value: -0\.05',
        id='weight-decay-negative',
    ),
    pytest.param(
        zero_iterations, ValueError, r'train_cfg\.max_iters is 0: nothing would be trained', id='zero-iterations'
    ),
    pytest.param(warmup_longer_than_the_run_warns, None, '', id='warmup-longer-than-the-run-warns'),
]


def test_the_table_is_complete():
    assert len(BAD_INPUTS) >= 30
    assert len({row.id for row in BAD_INPUTS}) == len(BAD_INPUTS)


@pytest.mark.parametrize('action, error, message', BAD_INPUTS)
def test_bad_input(action, error, message, tmp_path, demo_data_root):
    run_row(action, error, message, Workspace(tmp_path, demo_data_root / 'images'))
