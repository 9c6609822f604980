"""Training processes that end when their launcher dies, so that a killed ``tools/dist_train.sh`` leaves no orphans.

torchrun starts every worker in a session of its own, so ``kill -9`` of the launcher does not reach them. On Linux
each worker asks the kernel for SIGKILL when its parent (the launcher) dies (``prctl(PR_SET_PDEATHSIG)``); checkpoints
are written atomically, so a write cut short leaves only a temporary file that ``--resume`` removes.
"""

import ctypes
import os
import signal
import sys
from pathlib import Path

# Set by tools/dist_train.sh to its own pid, which torchrun keeps (the script ``exec``s it).
LAUNCHER_PID_VARIABLE = 'CAE_MM_LAUNCHER_PID'
PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def process_alive(pid: int) -> bool:
    """Whether the process with this pid runs (Linux ``/proc``): False when it is gone or a zombie (killed, its exit
    status not yet collected by its own parent)."""
    try:
        stat = Path(f'/proc/{pid}/stat').read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    state = stat.rpartition(')')[2].split()[0]  # the command name in parentheses may hold spaces
    return state not in ('Z', 'X')


def exit_with_launcher() -> None:
    """Make this process receive SIGKILL when its parent process dies (Linux; elsewhere nothing changes).

    Call it first thing in a worker started by a launcher (torchrun). If the launcher named by
    ``CAE_MM_LAUNCHER_PID`` died before the request was registered, the process exits at once.

    Raises:
        OSError: if the kernel refuses the request.
    """
    if not sys.platform.startswith('linux'):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) != 0:
        error = ctypes.get_errno()
        raise OSError(error, f'prctl(PR_SET_PDEATHSIG) failed: {os.strerror(error)}')
    launcher_pid = os.environ.get(LAUNCHER_PID_VARIABLE)
    if launcher_pid is not None and not process_alive(int(launcher_pid)):
        # The launcher was killed between starting this process and the prctl call: no signal will come.
        sys.stderr.write(f'the launcher (pid {launcher_pid}) is gone; this training process exits\n')
        os._exit(1)
