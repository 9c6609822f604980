"""The paper's adapter: x4 (deconv-norm-GELU-deconv), x2 (deconv), x1 (identity), x1/2 (max-pool)."""

import pytest
import torch
from torch import nn

from cae_mm.models.dense_prediction import MultiScaleAdapter


def test_four_taps_become_strides_quarter_half_same_double():
    adapter = MultiScaleAdapter(32).eval()
    taps = [torch.randn(2, 32, 6, 10) for _ in range(4)]
    outputs = adapter(taps)
    assert [tuple(output.shape) for output in outputs] == [
        (2, 32, 24, 40),
        (2, 32, 12, 20),
        (2, 32, 6, 10),
        (2, 32, 3, 5),
    ]
    assert adapter.out_channels == (32, 32, 32, 32)


def test_each_scale_is_its_own_operation_on_its_own_tap():
    """Identity for the third tap, a 2x2 max-pool for the fourth, a stride-2 deconvolution for the second."""
    adapter = MultiScaleAdapter(8).eval()
    taps = [torch.randn(1, 8, 4, 4) for _ in range(4)]
    outputs = adapter(taps)
    torch.testing.assert_close(outputs[2], taps[2], rtol=0, atol=0)
    torch.testing.assert_close(outputs[3], taps[3].reshape(1, 8, 2, 2, 2, 2).amax(dim=(3, 5)), rtol=0, atol=0)
    deconvolution = adapter.upsample_2x
    # a 2x2/2 transposed convolution writes each input pixel into its own 2x2 output block
    expected = torch.einsum('bchw,cokl->bohkwl', taps[1], deconvolution.weight).reshape(1, 8, 8, 8)
    torch.testing.assert_close(outputs[1], expected + deconvolution.bias[None, :, None, None], rtol=1e-5, atol=1e-5)


def test_x4_branch_is_deconv_norm_gelu_deconv_with_the_configured_norm():
    adapter = MultiScaleAdapter(16, norm_cfg=dict(type='GN', num_groups=4))
    kinds = [type(layer) for layer in adapter.upsample_4x]
    assert kinds == [nn.ConvTranspose2d, nn.GroupNorm, nn.GELU, nn.ConvTranspose2d]
    assert isinstance(MultiScaleAdapter(16).upsample_4x[1], nn.BatchNorm2d)


def test_wrong_number_of_taps_is_an_error():
    with pytest.raises(ValueError, match='takes 4 feature maps'):
        MultiScaleAdapter(8)([torch.randn(1, 8, 4, 4)] * 3)
