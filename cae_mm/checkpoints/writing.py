"""Atomic file writing (a complete new file or the old one, with a plain ``open``'s permissions) and output checks."""

import contextlib
import os
import tempfile
from pathlib import Path
from typing import IO, Any, Iterable, Iterator, Literal, Optional, Union

import torch

from .errors import CheckpointWriteError

TEMPORARY_SUFFIX = '.tmp'


def process_umask() -> int:
    """The process umask, read from ``/proc`` where possible (``os.umask`` can only be read by setting it)."""
    try:
        for line in Path('/proc/self/status').read_text().splitlines():
            if line.startswith('Umask:'):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(filepath: Union[str, Path]) -> Iterator[Path]:
    """Yield a temporary path (existing, empty) next to ``filepath``; on a clean exit it is fsynced and renamed over
    ``filepath``, and if the block raises ``filepath`` keeps its old content.

    Raises:
        CheckpointWriteError: ``filepath`` is a folder.
    """
    filepath = Path(filepath)
    if filepath.is_dir():
        raise CheckpointWriteError(f'cannot write {filepath}: it is a folder; give a file name inside it')
    filepath.parent.mkdir(parents=True, exist_ok=True)
    # .NAME.<random>.tmp is what remove_partial_checkpoint_writes recognises after a kill.
    handle, temporary = tempfile.mkstemp(prefix=f'.{filepath.name}.', suffix=TEMPORARY_SUFFIX, dir=filepath.parent)
    try:
        os.fchmod(handle, 0o666 & ~process_umask())
        os.close(handle)
        yield Path(temporary)
        with open(temporary, 'rb') as written:
            os.fsync(written.fileno())
        os.replace(temporary, filepath)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def atomic_open(
    filepath: Union[str, Path], mode: Literal['w', 'wb'] = 'wb', encoding: Optional[str] = None
) -> Iterator[IO]:
    """Yield an open temporary file that replaces ``filepath`` when the block ends without error (:func:`atomic_path`).

    Args:
        filepath: the file to (re)write.
        mode: ``'w'`` (text) or ``'wb'``.
        encoding: text encoding for ``'w'``.
    """
    with atomic_path(filepath) as temporary, open(temporary, mode, encoding=encoding) as file:
        yield file


def atomic_save(obj: Any, filepath: Union[str, Path]) -> None:
    """``torch.save(obj, filepath)`` through :func:`atomic_open`."""
    with atomic_open(filepath, 'wb') as file:
        torch.save(obj, file)


def check_output_path(output: Union[str, Path], inputs: Iterable[Union[str, Path]], force: bool = False) -> Path:
    """``output`` as a Path, refused before any work is done if writing it would lose data.

    Args:
        output: the file a tool is about to write.
        inputs: the files the tool reads.
        force: ``--force``: an existing file other than an input may be replaced.

    Raises:
        CheckpointWriteError: ``output`` is a folder, one of ``inputs`` (even with ``force``), or exists without it.
    """
    output = Path(output)
    if output.is_dir():
        raise CheckpointWriteError(f'the output {output} is a folder: give a file name, e.g. {output / "NAME.pth"}')
    for source in inputs:
        source = Path(source)
        same = output.resolve() == source.resolve() or (
            output.exists() and source.exists() and os.path.samefile(output, source)
        )
        if same:
            raise CheckpointWriteError(
                f'the output {output} is the input {source}: writing it would destroy the input '
                '(also with --force); choose another output file'
            )
    if output.exists() and not force:
        raise CheckpointWriteError(f'the output {output} exists: pass --force to replace it, or choose another name')
    return output
