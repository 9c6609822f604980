import torch
from mmengine.optim import build_optim_wrapper

import cae_mm  # noqa: F401


def test_forward_runs_in_bf16_and_parameters_stay_fp32():
    """Inside optim_context matmuls run in bf16; the update keeps fp32 parameters and moves them."""
    model = torch.nn.Linear(8, 4)
    wrapper = build_optim_wrapper(
        model, dict(type='cae_mm.BFloat16AutocastOptimWrapper', optimizer=dict(type='SGD', lr=0.1))
    )
    before = model.weight.detach().clone()
    with wrapper.optim_context(model):
        output = model(torch.randn(2, 8))
    assert output.dtype == torch.bfloat16
    wrapper.update_params(output.float().square().mean())
    assert model.weight.dtype == torch.float32
    assert not torch.equal(model.weight, before)
