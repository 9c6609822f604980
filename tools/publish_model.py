"""Turn a training checkpoint into a release file, named with the first 8 hex digits of its sha256 (OpenMMLab style).

Keeps the weights and a few plain facts from the checkpoint's meta (iteration, epoch, seed, versions, config text);
drops the optimizer, parameter schedulers, message hub, random generator states, the moving-average target
encoder and anything else that only resuming needs. By default the whole model is kept (encoder, regressor and decoder: what the reconstruction tools
need); --backbone-only keeps the encoder alone, with its ``backbone.*`` keys, as
tools/model_converters/cae_mm_to_backbone.py writes it, for

    backbone=dict(init_cfg=dict(type='Pretrained', checkpoint='cae-backbone-1234abcd.pth', prefix='backbone.'))

The file holds only tensors and plain Python values (``torch.load(weights_only=True)`` reads it). It is written to a
temporary file in the destination folder, hashed, and renamed, so a release file is either complete or absent. An
existing release file is replaced only with --force, and never the source itself; the destination must be a file name.

Example:
    python tools/publish_model.py work_dirs/cae_vit-base-p16_32xb64-dalle-300e_in1k/epoch_300.pth \\
        release/cae_vit-base-p16_32xb64-dalle-300e_in1k.pth
    # -> release/cae_vit-base-p16_32xb64-dalle-300e_in1k-1a2b3c4d.pth
"""

import argparse
import hashlib
import io
import sys
from pathlib import Path
from typing import Any, Optional, Union

import numpy as np
import torch

from cae_mm.checkpoints import atomic_open, check_output_path, read_checkpoint, weights_of

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the folder that holds tools/
from tools.model_converters.checkpoint_layouts import cae_mm_to_backbone  # noqa: E402

KEPT_META = ('epoch', 'iter', 'seed', 'experiment_name', 'time', 'mmengine_version', 'mmengine', 'cfg')
HASH_CHUNK = 1 << 20
# CAE(target_momentum>0)'s moving average of the encoder only serves to resume; loading a release restarts it from
# the encoder, as a fresh run does.
TRAINING_ONLY_WEIGHTS = ('target_encoder.',)


def plain_meta(meta: Any) -> dict[str, Union[str, int, float, bool]]:
    """The entries of :data:`KEPT_META` that are plain values (numpy scalars become Python numbers)."""
    if not isinstance(meta, dict):
        return {}
    kept = {}
    for key in KEPT_META:
        value = meta.get(key)
        if isinstance(value, np.generic):
            value = value.item()
        if isinstance(value, (str, int, float, bool)):
            kept[key] = value
    return kept


def release_contents(checkpoint: Any, source: Union[str, Path], backbone_only: bool = False) -> dict[str, Any]:
    """What a release file holds: ``{'meta': {...}, 'state_dict': {...}}``.

    Args:
        checkpoint: a loaded training checkpoint (or a bare state dict).
        source: its path, for the meta and error messages.
        backbone_only: keep only the ``backbone.*`` tensors.

    Raises:
        CheckpointReadError: no state dict of tensors.
        CheckpointConversionError: no cae_mm ``backbone.*`` keys with ``backbone_only``.
    """
    state_dict = weights_of(checkpoint, source)
    if backbone_only:
        state_dict = cae_mm_to_backbone(state_dict)
    state_dict = {key: tensor for key, tensor in state_dict.items() if not key.startswith(TRAINING_ONLY_WEIGHTS)}
    meta = plain_meta(checkpoint.get('meta') if isinstance(checkpoint, dict) else None)
    meta.update(published_from=Path(source).name, contents='backbone' if backbone_only else 'full model')
    return dict(meta=meta, state_dict={key: tensor.detach().cpu().contiguous() for key, tensor in state_dict.items()})


def file_sha256(path: Union[str, Path]) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, 'rb') as file:
        for chunk in iter(lambda: file.read(HASH_CHUNK), b''):
            digest.update(chunk)
    return digest.hexdigest()


def save_with_hash(
    contents: dict[str, Any], destination: Union[str, Path], source: Union[str, Path], force: bool = False
) -> Path:
    """Write ``contents`` as ``{stem}-{sha256[:8]}{suffix}`` next to ``destination``, atomically.

    Args:
        contents: what to save.
        destination: the release file name without the hash.
        source: the checkpoint it comes from, which is never replaced.
        force: replace an existing release file of the same name.

    Returns:
        The final path.

    Raises:
        CheckpointWriteError: ``destination`` is a folder, or the hashed name is the source or (without ``force``)
            an existing file.
    """
    destination = check_output_path(destination, [source], force=True)
    buffer = io.BytesIO()
    torch.save(contents, buffer)  # in memory first: the hash names the file
    data = buffer.getbuffer()
    final = destination.with_name(
        f'{destination.stem}-{hashlib.sha256(data).hexdigest()[:8]}{destination.suffix or ".pth"}'
    )
    check_output_path(final, [source], force)
    with atomic_open(final, 'wb') as file:
        file.write(data)
    return final


def main(argv: Optional[list[str]] = None) -> Path:
    """Publish a checkpoint; return the path of the release file."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('source', help='training checkpoint (mmengine Runner checkpoint or a state dict)')
    parser.add_argument('destination', help='release file name without the hash, e.g. release/NAME.pth')
    parser.add_argument('--backbone-only', action='store_true', help='keep only the encoder (backbone.* keys)')
    parser.add_argument('--force', action='store_true', help='replace an existing release file of the same name')
    args = parser.parse_args(argv)
    check_output_path(args.destination, [args.source], force=True)
    checkpoint = read_checkpoint(args.source)
    contents = release_contents(checkpoint, args.source, args.backbone_only)
    dropped = (
        sorted(set(checkpoint) - {'meta', 'state_dict'})
        if isinstance(checkpoint, dict) and 'state_dict' in checkpoint
        else []
    )
    path = save_with_hash(contents, args.destination, args.source, args.force)
    print(
        f'wrote {path}: {len(contents["state_dict"])} tensors ({contents["meta"]["contents"]}), sha256 '
        f'{file_sha256(path)}' + (f'; dropped {", ".join(dropped)}' if dropped else '')
    )
    return path


if __name__ == '__main__':
    main()
