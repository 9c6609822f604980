"""Workers that die with their launcher, so a killed ``tools/dist_train.sh`` leaves no orphans (torchrun puts each
worker in its own session, out of reach of the launcher's ``kill -9``)."""

import ctypes
import os
import signal
import sys
from pathlib import Path

# Set by tools/dist_train.sh to its own pid, which torchrun keeps (the script ``exec``s it).
LAUNCHER_PID_VARIABLE = 'CAE_MM_LAUNCHER_PID'
PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` runs (Linux ``/proc``); False when it is gone or a zombie."""
    try:
        stat = Path(f'/proc/{pid}/stat').read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    state = stat.rpartition(')')[2].split()[0]  # the command name in parentheses may hold spaces
    return state not in ('Z', 'X')


def exit_with_launcher() -> None:
    """Make this process receive SIGKILL when its parent dies (Linux only; call it first thing in a worker); exit at
    once if the launcher named by ``CAE_MM_LAUNCHER_PID`` is already gone.

    Raises:
        OSError: the kernel refuses the request.
    """
    if not sys.platform.startswith('linux'):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) != 0:
        error = ctypes.get_errno()
        raise OSError(error, f'prctl(PR_SET_PDEATHSIG) failed: {os.strerror(error)}')
    launcher_pid = os.environ.get(LAUNCHER_PID_VARIABLE)
    if launcher_pid is not None and not process_alive(int(launcher_pid)):
        # Killed before the prctl call: no signal will come.
        sys.stderr.write(f'the launcher (pid {launcher_pid}) is gone; this training process exits\n')
        os._exit(1)
