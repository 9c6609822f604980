"""A process that called ``exit_with_launcher`` dies with its parent, even when the parent is killed with SIGKILL.

The module is loaded from its file in the child processes (it imports nothing of cae_mm), so they start in a blink.
"""

import os
import signal
import subprocess
import sys
import time

import psutil
import pytest

from tests.conftest import REPO_ROOT

MODULE = REPO_ROOT / 'cae_mm' / 'engine' / 'launcher_death.py'
LOAD_MODULE = f"""
import importlib.util
spec = importlib.util.spec_from_file_location('launcher_death', {str(MODULE)!r})
launcher_death = importlib.util.module_from_spec(spec)
spec.loader.exec_module(launcher_death)
"""
# The worker reports its pid once protected, then sleeps as a training process would train.
WORKER = (
    LOAD_MODULE
    + """
import os, sys, time
if sys.argv[1] == 'protected':
    launcher_death.exit_with_launcher()
print(os.getpid(), flush=True)
time.sleep(120)
"""
)
# The launcher starts the worker in a session of its own, as torchrun does, and relays its pid.
LAUNCHER = """
import subprocess, sys, time
worker = subprocess.Popen([sys.executable, '-c', sys.argv[1], sys.argv[2]], stdout=subprocess.PIPE, text=True,
                          start_new_session=True)
print(worker.stdout.readline().strip(), flush=True)
time.sleep(120)
"""


def is_running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def wait_until_gone(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not is_running(pid):
            return True
        time.sleep(0.05)
    return False


@pytest.mark.skipif(not sys.platform.startswith('linux'), reason='PR_SET_PDEATHSIG is Linux only')
@pytest.mark.parametrize('protected', [True, False])
def test_worker_dies_with_a_launcher_killed_by_sigkill(protected):
    launcher = subprocess.Popen(
        [sys.executable, '-c', LAUNCHER, WORKER, 'protected' if protected else 'bare'],
        stdout=subprocess.PIPE,
        text=True,
    )
    worker_pid = int(launcher.stdout.readline())
    try:
        assert is_running(worker_pid)
        launcher.kill()
        launcher.wait()
        # Without the request the worker is an orphan that runs on: the situation the module exists to prevent.
        assert wait_until_gone(worker_pid, 5.0 if protected else 1.0) == protected
    finally:
        if is_running(worker_pid):
            os.kill(worker_pid, signal.SIGKILL)


def run_protected(launcher_pid: int) -> subprocess.CompletedProcess:
    """A process that calls ``exit_with_launcher`` with ``CAE_MM_LAUNCHER_PID=launcher_pid``, then prints "ran on"."""
    return subprocess.run(
        [sys.executable, '-c', LOAD_MODULE + 'launcher_death.exit_with_launcher()\nprint("ran on")'],
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(os.environ, CAE_MM_LAUNCHER_PID=str(launcher_pid)),
    )


@pytest.mark.skipif(not sys.platform.startswith('linux'), reason='PR_SET_PDEATHSIG is Linux only')
def test_worker_exits_when_the_launcher_died_before_it_asked():
    finished = subprocess.Popen(['true'])
    finished.wait()  # its pid now names no process
    completed = run_protected(launcher_pid=finished.pid)
    assert completed.returncode == 1
    assert completed.stdout == ''
    assert f'the launcher (pid {finished.pid}) is gone' in completed.stderr


@pytest.mark.skipif(not sys.platform.startswith('linux'), reason='PR_SET_PDEATHSIG is Linux only')
def test_a_running_launcher_lets_the_worker_run():
    completed = run_protected(launcher_pid=os.getpid())
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout == 'ran on\n'
