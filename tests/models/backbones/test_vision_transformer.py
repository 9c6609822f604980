import math

import pytest
import torch

from cae_mm.models.backbones import CAEVisionTransformer
from cae_mm.models.layers import build_2d_sincos_position_embedding, gather_tokens, mask_to_indices


def random_mask(batch: int, rows: int, cols: int, count: int) -> torch.Tensor:
    mask = torch.zeros(batch, rows * cols, dtype=torch.bool)
    for row in range(batch):
        mask[row, torch.randperm(rows * cols)[:count]] = True
    return mask.reshape(batch, rows, cols)


def test_base_has_the_vit_b_parameter_count():
    """ViT-B/16 encoder: about 85.8M parameters (no head), 12 blocks, width 768."""
    encoder = CAEVisionTransformer(arch='base')
    count = sum(p.numel() for p in encoder.parameters())
    assert 85.5e6 < count < 86.0e6
    assert len(encoder.layers) == 12 and encoder.embed_dims == 768


def test_official_initialisation():
    """Xavier-uniform Linear weights with zero bias, unit LayerNorms, cls token truncated at one std."""
    encoder = CAEVisionTransformer(arch='test')
    qkv = encoder.layers[0].attn.qkv.weight
    bound = math.sqrt(6 / (qkv.shape[0] + qkv.shape[1]))
    assert qkv.abs().max() <= bound and qkv.abs().max() > 0.9 * bound
    assert torch.count_nonzero(encoder.layers[0].mlp.fc1.bias) == 0
    assert torch.equal(encoder.norm.weight, torch.ones(64))
    assert encoder.cls_token.abs().max() <= 0.02
    assert torch.allclose(encoder.layers[1].gamma_1, torch.full((64,), 0.1))


@pytest.mark.parametrize(
    'out_type,shape',
    [('raw', (2, 17, 64)), ('featmap', (2, 64, 4, 4)), ('cls_token', (2, 64)), ('avg_featmap', (2, 64))],
)
def test_output_types(out_type, shape):
    """Each out_type has its documented shape; featmap keeps the grid."""
    encoder = CAEVisionTransformer(arch='test', patch_size=16, out_type=out_type)
    (output,) = encoder(torch.randn(2, 3, 64, 64))
    assert output.shape == shape


def test_out_indices_and_final_norm_only_on_the_last_block():
    """Several out_indices give one output each; only the last block's output is normed."""
    encoder = CAEVisionTransformer(arch='test', out_indices=(0, 1)).eval()
    images = torch.randn(2, 3, 32, 48)
    first, last = encoder(images)
    assert first.shape == last.shape == (2, 1 + 2 * 3, 64)
    torch.testing.assert_close(last, encoder.forward_encoder(images))
    torch.testing.assert_close(last.mean(-1), torch.zeros(2, 7), atol=1e-5, rtol=0)
    assert first.mean(-1).abs().max() > 1e-3


@pytest.mark.parametrize('bad', [2, -3, (0, 5)])
def test_out_of_range_out_indices_are_an_error(bad):
    """An out index past the depth fails at construction, naming it."""
    with pytest.raises(ValueError, match='out of range'):
        CAEVisionTransformer(arch='test', out_indices=bad)


def test_image_size_not_divisible_by_patch_size_is_an_error():
    """A 60 px image with 16 px patches is refused with both numbers in the message."""
    with pytest.raises(ValueError, match='60x64 is not divisible by the patch size 16'):
        CAEVisionTransformer(arch='test')(torch.randn(1, 3, 60, 64))


def test_mask_not_matching_the_grid_is_an_error():
    """A 4x4 mask for an 8x8 grid is refused."""
    with pytest.raises(ValueError, match='mask covers 16 patches'):
        CAEVisionTransformer(arch='test', patch_size=8).forward_encoder(
            torch.randn(1, 3, 64, 64), random_mask(1, 4, 4, 8)
        )


def test_encoder_never_sees_masked_patches():
    """Changing the pixels of masked patches leaves every output token unchanged; changing a visible one does not."""
    encoder = CAEVisionTransformer(arch='test', patch_size=8, drop_path_rate=0.1).eval()
    images = torch.randn(2, 3, 32, 32)
    mask = random_mask(2, 4, 4, 8)
    reference = encoder.forward_encoder(images, mask)
    assert reference.shape == (2, 1 + 8, 64)
    pixel_mask = mask.repeat_interleave(8, 1).repeat_interleave(8, 2)[:, None].expand_as(images)
    perturbed = torch.where(pixel_mask, torch.randn_like(images) * 10, images)
    assert torch.equal(encoder.forward_encoder(perturbed, mask), reference)
    perturbed_visible = torch.where(~pixel_mask, images + 1, images)
    assert not torch.allclose(encoder.forward_encoder(perturbed_visible, mask), reference)


def test_kept_tokens_enter_the_blocks_in_row_major_order_with_their_positions():
    """The first block sees cls then exactly the kept patches' embeddings plus their own positions."""
    encoder = CAEVisionTransformer(arch='test', patch_size=8).eval()
    images = torch.randn(2, 3, 32, 32)
    mask = random_mask(2, 4, 4, 6)
    seen = {}
    encoder.layers[0].register_forward_pre_hook(lambda module, args: seen.update(tokens=args[0]))
    encoder.forward_encoder(images, mask)
    patches = encoder.patch_embed(images).flatten(2).transpose(1, 2)
    patches = patches + build_2d_sincos_position_embedding((4, 4), 64, with_cls_token=False)
    visible_index, _ = mask_to_indices(mask.flatten(1))
    torch.testing.assert_close(seen['tokens'][:, 1:], gather_tokens(patches, visible_index))
    torch.testing.assert_close(seen['tokens'][:, 0], encoder.cls_token[0].expand(2, -1))


def test_activation_checkpointing_gives_the_same_values_and_gradients():
    """with_checkpoint changes memory, not numbers."""
    plain = CAEVisionTransformer(arch='test', patch_size=8)
    checkpointed = CAEVisionTransformer(arch='test', patch_size=8, with_checkpoint=True)
    checkpointed.load_state_dict(plain.state_dict())
    images = torch.randn(2, 3, 32, 32)
    for model in (plain, checkpointed):
        model.forward_encoder(images).square().mean().backward()
    for (name, a), (_, b) in zip(plain.named_parameters(), checkpointed.named_parameters()):
        torch.testing.assert_close(a.grad, b.grad, msg=name)


def test_layer_depth_and_no_weight_decay():
    """Patch embedding/cls are layer 0, block i is i+1, the final norm and foreign names are the last layer."""
    encoder = CAEVisionTransformer(arch='test')
    assert encoder.get_layer_depth('backbone.patch_embed.weight', 'backbone.') == (0, 4)
    assert encoder.get_layer_depth('backbone.cls_token', 'backbone.') == (0, 4)
    assert encoder.get_layer_depth('backbone.layers.1.attn.qkv.weight', 'backbone.') == (2, 4)
    assert encoder.get_layer_depth('backbone.norm.weight', 'backbone.') == (3, 4)
    assert encoder.get_layer_depth('neck.blocks.0.norm1_q.weight', 'backbone.') == (3, 4)
    assert encoder.no_weight_decay() == {'cls_token'}


def test_frozen_stages_freeze_and_stay_in_eval_mode():
    """Frozen blocks get no gradient and stay in eval mode after train(); the rest trains."""
    encoder = CAEVisionTransformer(arch='test', frozen_stages=1, drop_path_rate=0.5)
    encoder.train()
    assert not encoder.patch_embed.weight.requires_grad and not encoder.cls_token.requires_grad
    assert not any(p.requires_grad for p in encoder.layers[0].parameters())
    assert all(p.requires_grad for p in encoder.layers[1].parameters())
    assert not encoder.layers[0].training and encoder.layers[1].training
    fully_frozen = CAEVisionTransformer(arch='test', frozen_stages=2)
    assert not any(p.requires_grad for p in fully_frozen.parameters())


def test_unknown_arch_is_an_error():
    """A typo in arch names the choices."""
    with pytest.raises(ValueError, match="unknown arch 'bsae'"):
        CAEVisionTransformer(arch='bsae')
