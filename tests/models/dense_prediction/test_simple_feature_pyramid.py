"""ViTDet's simple feature pyramid: five levels from the last map, LayerNorm'd projections, no top-down path."""

import pytest
import torch

from cae_mm.models.dense_prediction import LayerNorm2d, SimpleFeaturePyramid


def test_five_levels_from_one_map_with_a_common_width():
    pyramid = SimpleFeaturePyramid(64, out_channels=16).eval()
    outputs = pyramid([torch.randn(2, 64, 8, 12)])
    assert [tuple(output.shape) for output in outputs] == [
        (2, 16, 32, 48),
        (2, 16, 16, 24),
        (2, 16, 8, 12),
        (2, 16, 4, 6),
        (2, 16, 2, 3),
    ]
    torch.testing.assert_close(outputs[4], outputs[3][:, :, ::2, ::2], rtol=0, atol=0)
    assert len(SimpleFeaturePyramid(64, out_channels=16, num_outs=4)([torch.randn(1, 64, 4, 4)])) == 4


def test_inner_widths_follow_vitdet():
    """x4 ends at C/4 channels and x2 at C/2 before the projections."""
    pyramid = SimpleFeaturePyramid(64, out_channels=16)
    assert pyramid.scales[0][-1].out_channels == 16 and pyramid.scales[1].out_channels == 32
    assert [projection[0].in_channels for projection in pyramid.projections] == [16, 32, 64, 64]


def test_layer_norm_2d_normalises_each_pixel_over_channels():
    norm = LayerNorm2d(6)
    x = torch.randn(2, 6, 3, 5) * 4 + 3
    y = norm(x)
    torch.testing.assert_close(y.mean(dim=1), torch.zeros(2, 3, 5), rtol=0, atol=1e-5)
    torch.testing.assert_close(y.var(dim=1, unbiased=False), torch.ones(2, 3, 5), rtol=0, atol=1e-3)


def test_bad_settings_and_inputs_are_errors():
    with pytest.raises(ValueError, match='divisible by 4'):
        SimpleFeaturePyramid(30)
    with pytest.raises(ValueError, match='num_outs must be 4 or 5'):
        SimpleFeaturePyramid(32, num_outs=3)
    with pytest.raises(ValueError, match='one out index'):
        SimpleFeaturePyramid(32)([torch.randn(1, 32, 4, 4)] * 4)
