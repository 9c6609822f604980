"""cae_mm.FSDPStrategy's parts: the block wrap policy and gradient clipping by the norm over all shards."""

import socket

import pytest
import torch
import torch.distributed as torch_distributed
from torch import nn

from cae_mm.engine import clip_sharded_grad_norm_, transformer_block_wrap_policy
from cae_mm.models.layers import RegressorBlock, TransformerBlock


@pytest.fixture
def one_process_group():
    """A gloo group of one process (the all-reduce is then the identity), removed afterwards."""
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        port = probe.getsockname()[1]
    torch_distributed.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{port}', rank=0, world_size=1)
    try:
        yield
    finally:
        torch_distributed.destroy_process_group()


def parameters_with_gradients(seed: int) -> list[nn.Parameter]:
    generator = torch.Generator().manual_seed(seed)
    parameters = [nn.Parameter(torch.zeros(shape)) for shape in ((4, 3), (5,), (0,), (2, 2))]
    for parameter in parameters:
        parameter.grad = 3 * torch.randn(parameter.shape, generator=generator)
    return parameters


@pytest.mark.parametrize('norm_type', [2.0, 1.0, float('inf')])
def test_clipping_equals_torch_on_one_process(one_process_group, norm_type):
    """The same norm and clipped gradients as torch's; empty shards (FSDP gives some processes none) are skipped."""
    ours = parameters_with_gradients(0)
    reference = [parameter for parameter in parameters_with_gradients(0) if parameter.numel()]
    total = clip_sharded_grad_norm_(ours, max_norm=1.0, norm_type=norm_type)
    expected = torch.nn.utils.clip_grad_norm_(reference, max_norm=1.0, norm_type=norm_type)
    torch.testing.assert_close(total, expected)
    for parameter, expected_parameter in zip([parameter for parameter in ours if parameter.numel()], reference):
        torch.testing.assert_close(parameter.grad, expected_parameter.grad)
    clipped_norm = torch.linalg.vector_norm(torch.cat([p.grad.flatten() for p in ours]), norm_type)
    assert clipped_norm == pytest.approx(1.0, rel=1e-4)


def test_non_finite_norm_is_an_error_when_asked(one_process_group):
    parameters = parameters_with_gradients(1)
    parameters[0].grad[0, 0] = float('nan')
    with pytest.raises(RuntimeError, match='non-finite gradients'):
        clip_sharded_grad_norm_(parameters, max_norm=1.0, error_if_nonfinite=True)


def test_every_transformer_block_is_its_own_unit():
    blocks = [TransformerBlock(32, 4), RegressorBlock(32, 4)]
    for block in blocks:
        assert transformer_block_wrap_policy(block, recurse=False, nonwrapped_numel=0)
        assert transformer_block_wrap_policy(block, recurse=True, nonwrapped_numel=0)  # descend into the model
    assert not transformer_block_wrap_policy(nn.Linear(2, 2), recurse=False, nonwrapped_numel=0)
