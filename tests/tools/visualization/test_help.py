"""Every visualisation tool explains itself with --help."""

import pytest

from tests.tools.visualization.conftest import tool


@pytest.mark.parametrize(
    'name, phrase',
    [
        ('show_masks', 'mask generator'),
        ('show_reconstruction', 'TRUE mean and standard deviation'),
        ('show_attention', 'cls token'),
        ('show_tsne', 'ADE20K'),
    ],
)
def test_help(name, phrase, capsys):
    with pytest.raises(SystemExit) as exit_info:
        tool(name).main(['--help'])
    assert exit_info.value.code == 0
    assert phrase in capsys.readouterr().out
