import pytest
import torch

from cae_mm.models.layers import RegressorBlock, TransformerBlock, build_block_stack


def test_stochastic_depth_rises_linearly_to_the_last_block():
    blocks = build_block_stack(TransformerBlock, 4, 0.3, embed_dims=16, num_heads=2)
    rates = [getattr(block.drop_path, 'drop_prob', 0.0) for block in blocks]
    assert rates == pytest.approx(torch.linspace(0, 0.3, 4).tolist())


def test_per_block_arguments_reach_their_block():
    blocks = build_block_stack(
        TransformerBlock,
        3,
        0.0,
        per_block_args=[dict(window_size=2), {}, dict(window_size=2)],
        embed_dims=16,
        num_heads=2,
    )
    assert [block.attn.window_size for block in blocks] == [2, 0, 2]
    with pytest.raises(ValueError):
        build_block_stack(TransformerBlock, 3, 0.0, per_block_args=[{}], embed_dims=16, num_heads=2)


def test_regressor_blocks_are_built_alike():
    blocks = build_block_stack(RegressorBlock, 2, 0.0, embed_dims=16, num_heads=2, layer_scale_init_value=0.1)
    assert len(blocks) == 2 and all(isinstance(block, RegressorBlock) for block in blocks)
    assert torch.equal(blocks[1].gamma_1, torch.full((16,), 0.1))
