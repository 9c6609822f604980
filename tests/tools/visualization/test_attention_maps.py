"""The cls token's last-layer attention, recomputed from a normal forward pass."""

import pytest
import torch

from cae_mm.models.backbones.vision_transformer import CAEVisionTransformer
from tools.visualization.attention_maps import last_layer_cls_attention


@pytest.mark.parametrize('relative_position_bias_grid', [None, (4, 6)])
def test_equals_the_weights_of_the_last_block(relative_position_bias_grid):
    """The maps are the last block's softmax weights of the cls query over the patches, relative position bias
    included."""
    encoder = CAEVisionTransformer(
        arch='test', patch_size=8, relative_position_bias_grid=relative_position_bias_grid
    ).eval()
    if encoder.relative_position_bias is not None:
        for bias in encoder.relative_position_bias:
            torch.nn.init.normal_(bias.table)
    images = torch.randn(2, 3, 32, 48)
    maps = last_layer_cls_attention(encoder, images)
    assert maps.shape == (2, 4, 4, 6)

    with torch.no_grad():
        tokens = encoder._input_tokens(images, None)  # (B, 1 + 24, C)
        for index in range(encoder.num_layers - 1):
            tokens = encoder.layers[index](tokens, (4, 6), encoder._attention_bias(index, (4, 6)))
        last = encoder.layers[-1]
        weights = last.attn.attention_weights(last.norm1(tokens), encoder._attention_bias(1, (4, 6)))
    torch.testing.assert_close(maps, weights[:, :, 0, 1:].reshape(2, 4, 4, 6))
    torch.testing.assert_close(maps.sum(dim=(2, 3)) + weights[:, :, 0, 0], torch.ones(2, 4))


def test_other_encoders_are_refused():
    with pytest.raises(TypeError, match='CAEVisionTransformer'):
        last_layer_cls_attention(torch.nn.Identity(), torch.randn(1, 3, 8, 8))
