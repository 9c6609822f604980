"""The LayerNorm and GELU outputs are recomputed in the backward pass, not kept, and the gradients do not change."""

from contextlib import contextmanager

import pytest
import torch
from torch import nn

from cae_mm.models.layers import RegressorBlock, TransformerBlock
from cae_mm.models.layers import transformer_blocks
from cae_mm.models.layers.transformer_blocks import run_block


def saved_data_pointers(output: torch.Tensor) -> set[int]:
    """The data pointers of every tensor autograd keeps for the backward pass of ``output``."""
    pointers, seen, pending = set(), set(), [output.grad_fn]
    while pending:
        node = pending.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        for name in dir(node):
            if name.startswith('_saved_'):
                value = getattr(node, name)
                for tensor in value if isinstance(value, (tuple, list)) else [value]:
                    if isinstance(tensor, torch.Tensor):
                        pointers.add(tensor.data_ptr())
        pending.extend(next_node for next_node, _ in node.next_functions)
    return pointers


def recorded_outputs(block: nn.Module) -> tuple[dict[str, list[torch.Tensor]], list]:
    """Forward hooks that keep the input and output of every LayerNorm and GELU of ``block`` (alive, so that their
    memory is not reused during the test)."""
    recorded = {'norm inputs': [], 'norm outputs': [], 'gelu outputs': []}
    handles = []
    for module in block.modules():
        if isinstance(module, nn.LayerNorm):

            def keep(module, inputs, output):
                recorded['norm inputs'].append(inputs[0])
                recorded['norm outputs'].append(output)

            handles.append(module.register_forward_hook(keep))
        elif isinstance(module, nn.GELU):
            handles.append(module.register_forward_hook(lambda m, i, o: recorded['gelu outputs'].append(o)))
    return recorded, handles


def build(block_type: str) -> tuple[nn.Module, tuple]:
    torch.manual_seed(0)
    if block_type == 'self-attention':
        return TransformerBlock(32, 4, layer_scale_init_value=0.1), (torch.randn(2, 9, 32, requires_grad=True),)
    queries = torch.randn(2, 5, 32, requires_grad=True)
    context = torch.cat([torch.randn(2, 4, 32, requires_grad=True), queries], dim=1)
    return RegressorBlock(32, 4, layer_scale_init_value=0.1), (
        queries,
        context,
        torch.randn(2, 5, 32),
        torch.randn(2, 9, 32),
    )


@contextmanager
def recomputation_disabled(monkeypatch):
    @contextmanager
    def keep_everything(*outputs):
        yield

    with monkeypatch.context() as patch:
        patch.setattr(transformer_blocks, 'recompute_when_saved', keep_everything)
        yield


@pytest.mark.parametrize('block_type', ['self-attention', 'regressor'])
def test_norm_and_gelu_outputs_are_not_kept(block_type, monkeypatch):
    block, inputs = build(block_type)
    recorded, handles = recorded_outputs(block)
    output = block(*inputs)
    # A copy: reading the saved tensors recomputes the outputs, and the hooks record those too.
    recorded = {key: list(tensors) for key, tensors in recorded.items()}
    saved = saved_data_pointers(output)
    assert recorded['norm outputs'] and recorded['gelu outputs']
    for kept_output in recorded['norm outputs'] + recorded['gelu outputs']:
        assert kept_output.data_ptr() not in saved
    for norm_input in recorded['norm inputs']:
        assert norm_input.data_ptr() in saved  # what the recomputation starts from is kept anyway

    with recomputation_disabled(monkeypatch):
        for handle in handles:
            handle.remove()
        recorded_without, _ = recorded_outputs(block)
        saved_without = saved_data_pointers(block(*inputs))
    assert all(output.data_ptr() in saved_without for output in recorded_without['gelu outputs'])


@pytest.mark.parametrize('block_type', ['self-attention', 'regressor'])
@pytest.mark.parametrize('checkpointed', [False, True])
def test_gradients_are_the_same_bits(block_type, checkpointed, monkeypatch):
    block, inputs = build(block_type)

    def gradients() -> list[torch.Tensor]:
        block.zero_grad(set_to_none=True)
        output = run_block(block, checkpointed, *inputs)
        leaves = [tensor for tensor in inputs if tensor.is_leaf and tensor.requires_grad]
        return list(torch.autograd.grad(output.square().sum(), leaves + list(block.parameters())))

    recomputed = gradients()
    with recomputation_disabled(monkeypatch):
        kept = gradients()
    assert all(torch.equal(left, right) for left, right in zip(recomputed, kept, strict=True))


def test_nothing_is_recomputed_without_gradients():
    block, (tokens,) = build('self-attention')
    with torch.no_grad():
        output = block(tokens)
    assert output.grad_fn is None


def test_bfloat16_autocast_backward_runs_and_matches_keeping_everything(monkeypatch):
    block, (tokens,) = build('self-attention')

    def gradient() -> torch.Tensor:
        with torch.autocast('cpu', dtype=torch.bfloat16):
            output = block(tokens)
        return torch.autograd.grad(output.float().square().sum(), tokens)[0]

    recomputed = gradient()
    with recomputation_disabled(monkeypatch):
        assert torch.equal(recomputed, gradient())
