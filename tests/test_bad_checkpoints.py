"""Bad checkpoint files through every loading path, one table row each (the checkpoint half of test_bad_input.py).

A row is ``(action, expected error, pattern the message must match)``; ``None`` as the error means the input is
handled as documented (the action asserts how). Paths: cae_mm.Runner's ``load_from`` and ``--resume`` (tools/train.py),
the converters, publish_model.py, tools/test.py, the visualisation tools, tokenizer files. docs/troubleshooting.md
explains each error.
"""

import socket
import subprocess
import sys
import types
from pathlib import Path
from typing import Callable

import pytest
import torch
from mmengine.config import Config

from cae_mm.checkpoints import (
    CheckpointConversionError,
    CheckpointMismatchError,
    CheckpointReadError,
    CheckpointWriteError,
    TokenizerWeightsError,
    read_checkpoint,
)
from cae_mm.checkpoints.work_dir_lock import LOCK_FILE
from cae_mm.registry import MODELS
from tests.checkpoints.test_reading import torchscript_archive_that_writes
from tests.conftest import TEST_CONFIG
from tests.input_table import Workspace, load_from, run_row, tiny_cae
from tests.tools.tool_loading import load_tool


def saved(workspace: Workspace, content, name: str = 'checkpoint.pth') -> Path:
    path = workspace.folder / name
    torch.save(content, path)
    return path


def train(workspace: Workspace, *flags: str, max_iters: int = 2, work_dir: str = 'work_dir') -> Path:
    """tools/train.py on the tiny CAE config, a checkpoint every 2 iterations; returns the work dir."""
    folder = workspace.folder / work_dir
    load_tool('train.py').main(
        [
            str(TEST_CONFIG),
            '--work-dir',
            str(folder),
            *flags,
            '--cfg-options',
            f'train_dataloader.dataset.data_root={workspace.demo_images}',
            f'train_cfg.max_iters={max_iters}',
            'default_hooks.checkpoint.interval=2',
        ]
    )
    return folder


# ---------------------------------------------------------------------------------------------------------------------
# Rows: any loading path.


def torchscript_archive(workspace: Workspace) -> None:
    path, marker = torchscript_archive_that_writes(workspace.folder)
    try:
        load_from(workspace, path)
    finally:
        assert not marker.exists(), 'the archive ran its code'


def png_named_pth(workspace: Workspace) -> None:
    from PIL import Image

    path = workspace.folder / 'weights.pth'
    Image.new('RGB', (4, 4)).save(path, format='PNG')
    load_from(workspace, path)


def folder_as_checkpoint(workspace: Workspace) -> None:
    load_from(workspace, workspace.folder)


def multistep_counter_reads(workspace: Workspace) -> None:
    """Every Mask R-CNN / Cascade / ViTDet runner checkpoint holds MultiStepLR's milestones as a Counter."""
    from collections import Counter

    path = saved(workspace, {'param_schedulers': [{'milestones': Counter({8: 1, 11: 1})}]})
    assert read_checkpoint(path)['param_schedulers'][0]['milestones'] == Counter({8: 1, 11: 1})


def load_from_content(content) -> Callable[[Workspace], None]:
    return lambda workspace: load_from(workspace, saved(workspace, content))


# ---------------------------------------------------------------------------------------------------------------------
# Rows: --resume.


def test_config_model(**changes) -> torch.nn.Module:
    """The model of the config that :func:`train` trains, with ``changes`` (``'backbone.patch_size': 16``, ...)."""
    cfg = Config.fromfile(TEST_CONFIG)
    cfg.merge_from_dict({f'model.{key}': value for key, value in changes.items()})
    return MODELS.build(cfg.model)


test_config_model.__test__ = False  # a helper, not a test


def runner_checkpoint_of(model: torch.nn.Module) -> dict:
    return dict(
        meta=dict(iter=2, epoch=0),
        state_dict=model.state_dict(),
        message_hub={},
        optimizer=torch.optim.AdamW(model.parameters()).state_dict(),
    )


def resume_from_content(content) -> Callable[[Workspace], None]:
    return lambda workspace: train(workspace, '--resume', str(saved(workspace, content)))


def resume_from_another_model_size(workspace: Workspace) -> None:
    """A checkpoint of patch size 16 into the patch-8 run: refused before the first step, nothing written."""
    other_size = test_config_model(
        **{'backbone.patch_size': 16, 'target_generator.patch_size': 16, 'head.out_dims': 768}
    )
    path = saved(workspace, runner_checkpoint_of(other_size))
    try:
        train(workspace, '--resume', str(path))
    finally:
        assert not list((workspace.folder / 'work_dir').glob('iter_*.pth'))


def resume_with_other_optimizer_groups(workspace: Workspace) -> None:
    model = test_config_model()
    checkpoint = runner_checkpoint_of(model)
    checkpoint['optimizer'] = torch.optim.AdamW(model.parameters()).state_dict()  # 1 group; the run has 2
    train(workspace, '--resume', str(saved(workspace, checkpoint)))


def resume_after_touching_an_old_checkpoint(workspace: Workspace) -> None:
    """``touch iter_2.pth`` after iter_4 was written: --resume continues from iteration 4, iter_4 is not rewritten."""
    work_dir = train(workspace, max_iters=4)
    (work_dir / 'iter_2.pth').touch()
    before = (work_dir / 'iter_4.pth').read_bytes()
    train(workspace, '--resume', max_iters=6)
    assert (work_dir / 'iter_4.pth').read_bytes() == before
    assert read_checkpoint(work_dir / 'iter_6.pth')['meta']['iter'] == 6


def resume_while_a_live_run_writes(workspace: Workspace) -> None:
    work_dir = workspace.folder / 'work_dir'
    work_dir.mkdir()
    live = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])
    try:
        (work_dir / LOCK_FILE).write_text(f'{live.pid} {socket.gethostname()}\n')
        train(workspace, '--resume')
    finally:
        live.kill()
        live.wait()


def resume_after_a_killed_run_takes_the_stale_lock(workspace: Workspace) -> None:
    """The lock of a process killed with ``kill -9`` (no longer running) is taken over; the run trains and unlocks."""
    work_dir = workspace.folder / 'work_dir'
    work_dir.mkdir()
    dead = subprocess.Popen([sys.executable, '-c', 'pass'])
    dead.wait()
    (work_dir / LOCK_FILE).write_text(f'{dead.pid} {socket.gethostname()}\n')
    train(workspace, '--resume')
    assert (work_dir / 'iter_2.pth').exists() and not (work_dir / LOCK_FILE).exists()


# ---------------------------------------------------------------------------------------------------------------------
# Rows: converters, publish_model.py, tools/test.py, visualisation, tokenizers.


def cae_mm_checkpoint(workspace: Workspace) -> Path:
    return saved(workspace, {'state_dict': tiny_cae().state_dict()}, 'cae.pth')


def convert(converter: str, *arguments: str) -> None:
    load_tool(f'model_converters/{converter}.py').main(list(arguments))


def converter_output_is_its_input(workspace: Workspace) -> None:
    source = cae_mm_checkpoint(workspace)
    before = source.read_bytes()
    try:
        convert('cae_mm_to_backbone', str(source), str(source), '--force')
    finally:
        assert source.read_bytes() == before


def converter_output_exists(workspace: Workspace) -> None:
    existing = workspace.folder / 'backbone.pth'
    existing.write_bytes(b'a file the user keeps')
    try:
        convert('cae_mm_to_backbone', str(cae_mm_checkpoint(workspace)), str(existing))
    finally:
        assert existing.read_bytes() == b'a file the user keeps'


def converter_output_is_a_folder(workspace: Workspace) -> None:
    convert('cae_mm_to_backbone', str(cae_mm_checkpoint(workspace)), str(workspace.folder))


def converter_of_an_empty_checkpoint(workspace: Workspace) -> None:
    convert('cae_mm_to_mmpretrain_cae', str(saved(workspace, {})), str(workspace.folder / 'out.pth'))


def converter_of_an_mmpretrain_mae_checkpoint(workspace: Workspace) -> None:
    from mmpretrain.models import MAEViT

    mae = MAEViT(arch='b', img_size=32, patch_size=16)
    state_dict = {f'backbone.{key}': value for key, value in mae.state_dict().items()}
    convert('cae_mm_to_backbone', str(saved(workspace, {'state_dict': state_dict})), str(workspace.folder / 'o.pth'))


def converter_grid_size(*grid: str) -> Callable[[Workspace], None]:
    def run(workspace: Workspace) -> None:
        source = saved(
            workspace,
            {'state_dict': tiny_cae().state_dict(), 'meta': {'cfg': Config.fromfile(TEST_CONFIG).pretty_text}},
            'cae.pth',
        )
        convert('cae_mm_to_mmpretrain_cae', str(source), str(workspace.folder / 'out.pth'), '--grid-size', *grid)

    return run


def publish_into_an_existing_folder(workspace: Workspace) -> None:
    (workspace.folder / 'release').mkdir()
    try:
        load_tool('publish_model.py').main([str(cae_mm_checkpoint(workspace)), str(workspace.folder / 'release')])
    finally:
        assert sorted(path.name for path in workspace.folder.iterdir()) == ['cae.pth', 'release']


def publish_an_empty_checkpoint(workspace: Workspace) -> None:
    load_tool('publish_model.py').main([str(saved(workspace, {})), str(workspace.folder / 'release.pth')])


def visualise_with(content) -> Callable[[Workspace], None]:
    def run(workspace: Workspace) -> None:
        load_tool('visualization/show_attention.py').main(
            [
                str(TEST_CONFIG),
                str(saved(workspace, content)),
                str(workspace.demo_images),
                '--output',
                str(workspace.folder / 'attention.png'),
            ]
        )

    return run


def crafted_dalle_pickle(workspace: Workspace, depth: int, cyclic: bool) -> Path:
    """An ``encoder.pkl`` made of the class names OpenAI's file uses, as a chain ``depth`` deep or a cycle."""
    module = types.ModuleType('dall_e.encoder')

    class Encoder:
        pass

    Encoder.__module__, Encoder.__qualname__ = 'dall_e.encoder', 'Encoder'
    module.Encoder = Encoder
    root = node = Encoder()
    for _ in range(depth):
        child = Encoder()
        node._modules = {'child': child}
        node = child
    node._modules = {'loop': root} if cyclic else {}
    path = workspace.folder / 'encoder.pkl'
    sys.modules['dall_e'], sys.modules['dall_e.encoder'] = types.ModuleType('dall_e'), module
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 20 * depth + 1000))
    try:
        torch.save(root, path)
    finally:
        sys.setrecursionlimit(limit)
        del sys.modules['dall_e'], sys.modules['dall_e.encoder']
    return path


def dalle_pickle(depth: int, cyclic: bool) -> Callable[[Workspace], None]:
    def run(workspace: Workspace) -> None:
        MODELS.build(
            dict(
                type='cae_mm.DALLETokenizer',
                hidden_dims=8,
                blocks_per_group=1,
                vocab_size=16,
                checkpoint=str(crafted_dalle_pickle(workspace, depth, cyclic)),
            )
        )

    return run


BAD_CHECKPOINTS = [
    # any loading path
    pytest.param(
        torchscript_archive,
        CheckpointReadError,
        r'refusing to load .*model\.pth: it is a TorchScript archive',
        id='torchscript-archive',
    ),
    pytest.param(
        png_named_pth,
        CheckpointReadError,
        r'weights\.pth: the file is truncated, corrupt or not a PyTorch checkpoint \(it looks like a PNG image',
        id='png-named-pth',
    ),
    pytest.param(folder_as_checkpoint, CheckpointReadError, r'is a folder, not a checkpoint file', id='folder'),
    pytest.param(multistep_counter_reads, None, '', id='multistep-counter-reads'),
    # load_from
    pytest.param(
        load_from_content({}),
        CheckpointReadError,
        r'holds no weights: the checkpoint is an empty dict',
        id='load-from-empty-dict',
    ),
    pytest.param(
        load_from_content([torch.ones(1)]),
        CheckpointReadError,
        r'holds no weights: the checkpoint is a list',
        id='load-from-list',
    ),
    pytest.param(
        load_from_content(torch.ones(3)),
        CheckpointReadError,
        r'holds no weights: .*a single tensor',
        id='load-from-tensor',
    ),
    pytest.param(
        load_from_content({'state_dict': {}}),
        CheckpointReadError,
        r"holds no weights: its 'state_dict' entry is an empty dict",
        id='load-from-empty-state-dict',
    ),
    # --resume
    pytest.param(
        resume_from_content({}),
        CheckpointReadError,
        r'is not a training checkpoint: it is an empty dict',
        id='resume-empty-dict',
    ),
    pytest.param(
        resume_from_content([1, 2]),
        CheckpointReadError,
        r'is not a training checkpoint: it is a list',
        id='resume-list',
    ),
    pytest.param(
        resume_from_content(torch.ones(3)),
        CheckpointReadError,
        r'is not a training checkpoint: it is a single tensor',
        id='resume-tensor',
    ),
    pytest.param(
        resume_from_content({'state_dict': {'w': torch.ones(1)}}),
        CheckpointReadError,
        r"is not a training checkpoint: .*without \['meta', 'message_hub'\]",
        id='resume-weights-only',
    ),
    pytest.param(
        resume_from_another_model_size,
        CheckpointMismatchError,
        r'does not match the model of this run \(CAE\): wrong shapes: backbone\.patch_embed\.weight: '
        r'checkpoint \(64, 3, 16, 16\), model \(64, 3, 8, 8\)',
        id='resume-other-model-size',
    ),
    pytest.param(
        resume_with_other_optimizer_groups,
        CheckpointMismatchError,
        r'optimizer with 1 parameter groups .*this run has 2 groups',
        id='resume-other-optimizer-groups',
    ),
    pytest.param(resume_after_touching_an_old_checkpoint, None, '', id='resume-ignores-modification-times'),
    pytest.param(
        resume_while_a_live_run_writes, CheckpointWriteError, r'in use by a live training run', id='resume-live-run'
    ),
    pytest.param(resume_after_a_killed_run_takes_the_stale_lock, None, '', id='resume-stale-lock'),
    # converters
    pytest.param(
        converter_output_is_its_input,
        CheckpointWriteError,
        r'is the input .*also with --force',
        id='converter-output-is-input',
    ),
    pytest.param(converter_output_exists, CheckpointWriteError, r'exists: pass --force', id='converter-output-exists'),
    pytest.param(
        converter_output_is_a_folder,
        CheckpointWriteError,
        r'is a folder: give a file name',
        id='converter-output-folder',
    ),
    pytest.param(
        converter_of_an_empty_checkpoint, CheckpointReadError, r'holds no weights', id='converter-empty-checkpoint'
    ),
    pytest.param(
        converter_of_an_mmpretrain_mae_checkpoint,
        CheckpointConversionError,
        r"backbone keys are not those of cae_mm's CAEVisionTransformer",
        id='converter-mae-checkpoint',
    ),
    pytest.param(
        converter_grid_size('0', '14'),
        CheckpointConversionError,
        r'--grid-size must be two positive',
        id='converter-grid-zero',
    ),
    pytest.param(
        converter_grid_size('14', '14'),
        CheckpointConversionError,
        r'--grid-size 14 14 does not match the 8x8 patch grid',
        id='converter-grid-mismatch',
    ),
    # publish_model.py
    pytest.param(publish_into_an_existing_folder, CheckpointWriteError, r'is a folder', id='publish-into-folder'),
    pytest.param(publish_an_empty_checkpoint, CheckpointReadError, r'holds no weights', id='publish-empty'),
    # visualisation tools
    pytest.param(
        visualise_with([1, 2]), CheckpointReadError, r'holds no weights: the checkpoint is a list', id='visualise-list'
    ),
    pytest.param(
        visualise_with({}),
        CheckpointReadError,
        r'holds no weights: the checkpoint is an empty dict',
        id='visualise-empty-dict',
    ),
    # tokenizer files
    pytest.param(
        dalle_pickle(depth=2, cyclic=True),
        TokenizerWeightsError,
        r'contains itself \(a cyclic module graph',
        id='tokenizer-cyclic-pickle',
    ),
    pytest.param(
        dalle_pickle(depth=300, cyclic=False),
        TokenizerWeightsError,
        r'nested deeper than 64 levels',
        id='tokenizer-deep-pickle',
    ),
]


def test_the_table_is_complete():
    assert len({row.id for row in BAD_CHECKPOINTS}) == len(BAD_CHECKPOINTS) >= 30


@pytest.mark.parametrize('action, error, message', BAD_CHECKPOINTS)
def test_bad_checkpoint(action, error, message, tmp_path, demo_data_root):
    run_row(action, error, message, Workspace(tmp_path, demo_data_root / 'images'))
