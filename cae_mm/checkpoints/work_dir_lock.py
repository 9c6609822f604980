"""One training run per work dir: a lock file holding the owner's pid and host; a dead owner's lock is taken over."""

import logging
import os
import socket
from pathlib import Path
from typing import Union

from mmengine.logging import print_log

from .errors import CheckpointWriteError
from .writing import atomic_open

LOCK_FILE = '.cae_mm_training.lock'


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by another user
        return True
    return True


def _owner(lock: Path) -> tuple[int, str]:
    """``(pid, host)`` written in a lock file; ``(0, '')`` for an unreadable one."""
    try:
        pid, host = lock.read_text().split()[:2]
        return int(pid), host
    except (OSError, ValueError):
        return 0, ''


def acquire_work_dir_lock(work_dir: Union[str, Path]) -> Path:
    """Take the lock of ``work_dir`` (created if needed) for this process, taking over a dead process's lock on this
    host; return the lock file's path.

    Raises:
        CheckpointWriteError: a live process (or one on another host) holds the lock.
    """
    lock = Path(work_dir) / LOCK_FILE
    lock.parent.mkdir(parents=True, exist_ok=True)
    me = (os.getpid(), socket.gethostname())
    try:
        handle = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666)
    except FileExistsError:
        pid, host = _owner(lock)
        if (pid, host) != me:
            if host and host != me[1]:
                raise CheckpointWriteError(
                    f'{lock.parent} is in use by process {pid} on {host}: a run there may still be writing checkpoints. '
                    f'Use another work dir, or delete {lock} if that run has ended'
                ) from None
            if pid and _process_exists(pid):
                raise CheckpointWriteError(
                    f'{lock.parent} is in use by a live training run (process {pid}): it is still writing checkpoints '
                    'there. Wait for it to end or stop it, or use another work dir'
                ) from None
            print_log(
                f'taking over the lock of {lock.parent} from process {pid or "unknown"}, which no longer runs',
                logger='current',
                level=logging.WARNING,
            )
        with atomic_open(lock, 'w') as file:
            file.write(f'{me[0]} {me[1]}\n')
        return lock
    with os.fdopen(handle, 'w') as file:
        file.write(f'{me[0]} {me[1]}\n')
    return lock


def release_work_dir_lock(lock: Path) -> None:
    """Remove ``lock`` (the file :func:`acquire_work_dir_lock` returned) if this process still holds it."""
    if _owner(lock) == (os.getpid(), socket.gethostname()):
        lock.unlink(missing_ok=True)
