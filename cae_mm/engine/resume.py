"""Which checkpoint ``--resume`` continues from: the newest complete one, whatever a kill left behind.

mmengine's own lookup trusts the ``last_checkpoint`` pointer file. After a kill that is not always right:

* killed while a checkpoint was being written: only a temporary file ``.iter_N.pth.XXXX.tmp`` exists (checkpoints are
  written to a temporary file and renamed, see :mod:`cae_mm.engine.checkpoint_io`), and the pointer still names the
  previous checkpoint, which is the right one;
* killed between the rename and the pointer update: ``iter_N.pth`` is complete but the pointer names ``iter_N-1``;
* a checkpoint damaged afterwards (disk full on a non-atomic copy, a bad sync): the pointer names a corrupt file.

So the candidates are every ``iter_*.pth`` / ``epoch_*.pth`` next to the work dir's pointer target (and in the work
dir), plus the pointer target itself; the newest by modification time whose zip structure and CRCs check out wins.
Skipped files are reported. If checkpoints exist but none is complete, that is an error rather than a silent start
from scratch: the run's progress would be lost.
"""
import logging
import re
import zipfile
from pathlib import Path
from typing import Optional, Union

from mmengine.logging import print_log

from .checkpoint_io import TEMPORARY_SUFFIX, CheckpointReadError

POINTER_FILE = 'last_checkpoint'
_NUMBERED_CHECKPOINT = re.compile(r'^(iter|epoch)_(\d+)\.pth$')


def checkpoint_problem(path: Union[str, Path]) -> Optional[str]:
    """Say what is wrong with a checkpoint file without unpickling it, or None if it is complete.

    Reads the whole file once: a PyTorch checkpoint is a zip archive whose members carry CRC-32 checksums, so a
    truncated file (no central directory) and flipped bytes (checksum mismatch) are both detected.

    Args:
        path: the checkpoint file.

    Returns:
        A short description of the problem, or None.
    """
    path = Path(path)
    if not path.is_file():
        return 'missing'
    if path.stat().st_size == 0:
        return 'empty file'
    try:
        with zipfile.ZipFile(path) as archive:
            if not any(name.endswith('/data.pkl') or name == 'data.pkl' for name in archive.namelist()):
                return 'not a PyTorch checkpoint (no data.pkl in the archive)'
            damaged_member = archive.testzip()
    except zipfile.BadZipFile:
        return 'truncated or not a PyTorch zip checkpoint'
    except (OSError, EOFError, ValueError) as error:
        return f'unreadable ({type(error).__name__}: {error})'
    if damaged_member is not None:
        return f'corrupt (checksum mismatch in {damaged_member})'
    return None


def _candidates(work_dir: Path) -> list[Path]:
    """The pointer target and every numbered checkpoint beside it or in the work dir, newest first (absolute paths)."""
    work_dir = work_dir.absolute()
    pointer = work_dir / POINTER_FILE
    folders = {work_dir}
    candidates = set()
    if pointer.is_file():
        named = pointer.read_text().strip()
        if named:
            target = Path(named)  # as mmengine reads it: absolute, or relative to the current directory
            candidates.add(target.absolute())
            folders.add(target.absolute().parent)
    for folder in folders:
        if folder.is_dir():
            candidates.update(path for path in folder.iterdir() if _NUMBERED_CHECKPOINT.match(path.name))

    def newest_first(path: Path) -> tuple[int, int, str]:
        match = _NUMBERED_CHECKPOINT.match(path.name)
        modified = path.stat().st_mtime_ns if path.exists() else -1
        return (modified, int(match.group(2)) if match else -1, path.name)

    return sorted(candidates, key=newest_first, reverse=True)


def find_resume_checkpoint(work_dir: Union[str, Path]) -> Optional[Path]:
    """The newest complete checkpoint of the run in ``work_dir``.

    Args:
        work_dir: the run's work dir (where mmengine's ``CheckpointHook`` writes ``last_checkpoint``).

    Returns:
        The checkpoint to resume from, or None if the work dir holds no checkpoint at all (a fresh start).

    Raises:
        CheckpointReadError: checkpoints (or a pointer) exist but none is complete; the message lists each file and
            its problem.
    """
    work_dir = Path(work_dir)
    candidates = _candidates(work_dir)
    problems = []
    for candidate in candidates:
        problem = checkpoint_problem(candidate)
        if problem is None:
            for skipped, reason in problems:
                print_log(f'not resuming from {skipped}: {reason}; using the older {candidate}', logger='current',
                          level=logging.WARNING)
            return candidate
        problems.append((candidate, problem))
    if problems:
        listing = '; '.join(f'{path} ({reason})' for path, reason in problems)
        raise CheckpointReadError(
            f'cannot resume: no complete checkpoint in {work_dir}: {listing}. Resume from a checkpoint file you trust '
            f'with --resume PATH, or start over in a new work dir.')
    return None


def remove_partial_checkpoint_writes(folder: Union[str, Path]) -> list[Path]:
    """Delete the temporary files that writes interrupted by a kill left in ``folder``.

    Only files named like :func:`cae_mm.engine.checkpoint_io.atomic_open`'s temporaries of a checkpoint or of the
    pointer (``.iter_8.pth.k3j2h1.tmp``, ``.last_checkpoint.x9y8.tmp``) are touched. Call it only when no other process
    is training in ``folder``.

    Args:
        folder: a work dir or checkpoint folder.

    Returns:
        The deleted files.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    removed = []
    for path in folder.iterdir():
        if not (path.name.startswith('.') and path.name.endswith(TEMPORARY_SUFFIX)):
            continue
        target_name = path.name[1:].rsplit('.', 2)[0]
        if target_name == POINTER_FILE or target_name.endswith('.pth'):
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed
