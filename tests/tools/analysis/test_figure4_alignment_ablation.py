"""tools/analysis/figure4_alignment_ablation.py end to end at a toy budget: both runs, measurements, pictures, report"""

import re

import numpy as np
import pytest
from PIL import Image

from cae_mm.visualization.pictures import grid_shape
from tests.tools.tool_loading import load_tool


def ablation():
    return load_tool('analysis/figure4_alignment_ablation.py')


@pytest.mark.slow
def test_toy_run_writes_the_table_and_the_pictures(tmp_path, demo_data_root):
    """Two iterations per model on 32 px crops: a report whose table holds the returned numbers, three pictures."""
    report = tmp_path / 'docs' / 'figure4.md'
    results = ablation().main(
        [
            '--data-root',
            str(demo_data_root),
            '--work-dir',
            str(tmp_path / 'work'),
            '--output-dir',
            str(tmp_path / 'docs' / 'figure4'),
            '--report',
            str(report),
            '--iterations',
            '2',
            '--image-size',
            '32',
            '--embed-dims',
            '32',
            '--depth',
            '1',
            '--head-depth',
            '1',
            '--batch-size',
            '4',
            '--num-workers',
            '0',
            '--masks-per-crop',
            '1',
        ]
    )
    assert set(results) == {'with alignment', 'without alignment'}
    text = report.read_text()
    row = re.search(r'\| PSNR, full-encoder path \(Figure 4\), dB \| ([\d.]+) \| ([\d.]+) \|', text)
    assert row and float(row.group(1)) == pytest.approx(results['with alignment'].psnr_full_encoder, abs=0.005)
    assert float(row.group(2)) == pytest.approx(results['without alignment'].psnr_full_encoder, abs=0.005)
    held_out = 5  # every fifth of the 22 sorted photographs
    panel = 32 * 4  # 32 px crops shown at the default scale (panels of about 128 px)
    for name in ('full_encoder_comparison', 'with_alignment', 'without_alignment'):
        picture = np.asarray(Image.open(tmp_path / 'docs' / 'figure4' / f'{name}.png'))
        assert picture.shape == (*grid_shape(held_out, 4, panel, panel), 3) and picture.std() > 0
        assert f'figure4/{name}.png' in text
