"""Import a command-line tool from its file (tools/ is not a package) so that tests can call its functions."""

import importlib.util
from pathlib import Path
from types import ModuleType

from tests.conftest import REPO_ROOT


def load_tool(path: str) -> ModuleType:
    """The module ``tools/<path>`` (e.g. ``'benchmarks/benchmark_probes.py'``), executed once per call."""
    spec = importlib.util.spec_from_file_location(Path(path).stem, REPO_ROOT / 'tools' / path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
