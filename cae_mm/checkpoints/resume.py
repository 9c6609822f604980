"""Which checkpoint ``--resume`` continues from, and removal of interrupted writes."""

import logging
import re
import zipfile
from pathlib import Path
from typing import Optional, Union

from mmengine.logging import print_log

from .errors import CheckpointReadError
from .writing import TEMPORARY_SUFFIX

POINTER_FILE = 'last_checkpoint'
NUMBERED_CHECKPOINT = re.compile(r'^(iter|epoch)_(\d+)\.pth$')


def checkpoint_problem(path: Union[str, Path]) -> Optional[str]:
    """What is wrong with the checkpoint ``path``, from its zip structure and CRCs (not unpickled); None if complete."""
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


def _pointer_target(work_dir: Path) -> Optional[Path]:
    pointer = work_dir / POINTER_FILE
    named = pointer.read_text().strip() if pointer.is_file() else ''
    # As mmengine reads it: absolute, or relative to the current directory.
    return Path(named).absolute() if named else None


def _numbered(folder: Path) -> set[Path]:
    return {path for path in folder.iterdir() if NUMBERED_CHECKPOINT.match(path.name)} if folder.is_dir() else set()


def _candidates(work_dir: Path) -> list[Path]:
    """The run's checkpoints, newest first: the work dir's (a copied work dir resumes its own), else the pointer's."""
    work_dir = work_dir.absolute()
    target = _pointer_target(work_dir)
    candidates = _numbered(work_dir)
    if candidates:
        candidates |= {target} if target is not None and target.parent == work_dir else set()
    elif target is not None:
        candidates = {target} | _numbered(target.parent)

    def progress(path: Path) -> tuple[float, bool, str]:
        match = NUMBERED_CHECKPOINT.match(path.name)
        # A pointer target with a custom name counts as the newest; the pointer breaks ties.
        return (int(match.group(2)) if match else float('inf'), path == target, str(path))

    return sorted(candidates, key=progress, reverse=True)


def find_resume_checkpoint(work_dir: Union[str, Path]) -> Optional[Path]:
    """The complete checkpoint with the highest number in ``work_dir``'s ``iter_N.pth`` / ``epoch_N.pth``; None if it
    holds none. The pointer and modification times are not trusted after a kill or a copy.

    Raises:
        CheckpointReadError: checkpoints (or a pointer) exist but none is complete.
    """
    work_dir = Path(work_dir)
    problems = []
    for candidate in _candidates(work_dir):
        problem = checkpoint_problem(candidate)
        if problem is None:
            for skipped, reason in problems:
                print_log(
                    f'not resuming from {skipped}: {reason}; using {candidate}', logger='current', level=logging.WARNING
                )
            return candidate
        problems.append((candidate, problem))
    if problems:
        listing = '; '.join(f'{path} ({reason})' for path, reason in problems)
        raise CheckpointReadError(
            f'cannot resume: no complete checkpoint in {work_dir}: {listing}. Resume from a checkpoint file you trust '
            f'with --resume PATH, or start over in a new work dir.'
        )
    return None


def remove_partial_checkpoint_writes(folder: Union[str, Path]) -> list[Path]:
    """Delete and return the temporaries that interrupted checkpoint or pointer writes left in ``folder`` (a work dir or
    checkpoint folder). Call it only while holding the work dir's lock: another run may be writing them."""
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
