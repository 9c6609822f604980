"""The README's quick start stays true: its commands exist and CI runs its test command."""

import re

from mmengine.config import Config

from tests.conftest import REPO_ROOT


def quick_start_commands() -> list[str]:
    readme = (REPO_ROOT / 'README.md').read_text()
    quick_start = readme.split('## Quick start', 1)[1].split('\n## ', 1)[0]
    return re.findall(r'```bash\n(.+?)\n```', quick_start)


def test_quick_start_is_two_commands_and_ci_runs_the_test_command():
    """Two commands: install + demo, then the tests, which .ci/run calls verbatim."""
    install_and_train, run_tests = quick_start_commands()
    ci_lines = (REPO_ROOT / '.ci' / 'run').read_text().splitlines()
    assert run_tests in ci_lines
    assert 'bash tools/install.sh' in ci_lines
    assert install_and_train.startswith('bash tools/install.sh && ')


def test_quick_start_demo_config_exists_and_uses_the_bundled_data():
    """The demo the README names is a real config training on data/cae_demo."""
    install_and_train, _ = quick_start_commands()
    config_path = install_and_train.split()[-1]
    cfg = Config.fromfile(REPO_ROOT / config_path)
    assert cfg.train_dataloader.dataset.data_root == 'data/cae_demo/images'
