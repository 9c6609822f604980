"""FSDP for CAE through mmengine's ``FlexibleRunner``: one shard unit per transformer block, the optimizer built on
the unsharded parameters (so no-decay and layer-decay rules see real names and shapes), clipping over all shards."""

import copy
from typing import Any, Iterable, Optional, Union

import torch
import torch.distributed as torch_distributed
from mmengine._strategy import FSDPStrategy as MMEngineFSDPStrategy
from mmengine.optim import AmpOptimWrapper, BaseOptimWrapper, build_optim_wrapper
from torch import nn
from torch.distributed.fsdp.wrap import transformer_auto_wrap_policy

from cae_mm.models.layers import RegressorBlock, TransformerBlock
from cae_mm.registry import FUNCTIONS, STRATEGIES


@FUNCTIONS.register_module()
def transformer_block_wrap_policy(module: nn.Module, recurse: bool, nonwrapped_numel: int) -> bool:
    """FSDP auto-wrap policy, ``auto_wrap_policy=dict(type='cae_mm.transformer_block_wrap_policy')``: every encoder,
    regressor and decoder block is its own FSDP unit.

    Args:
        module: as in ``transformer_auto_wrap_policy``.
        recurse: as in ``transformer_auto_wrap_policy``.
        nonwrapped_numel: as in ``transformer_auto_wrap_policy``.
    """
    return transformer_auto_wrap_policy(
        module, recurse, nonwrapped_numel, transformer_layer_cls={TransformerBlock, RegressorBlock}
    )


def clip_sharded_grad_norm_(
    parameters: Iterable[torch.Tensor], max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False
) -> torch.Tensor:
    """``torch.nn.utils.clip_grad_norm_`` for parameters sharded across processes; returns the total norm before
    clipping, a 0-d fp32 tensor equal on every process.

    Args:
        parameters: this process's FSDP shards (every element on exactly one process).
        max_norm: largest allowed norm of the whole model's gradient.
        norm_type: p of the p-norm (``inf`` for the largest absolute value).
        error_if_nonfinite: raise if the total norm is NaN or inf.

    Raises:
        RuntimeError: the total norm is not finite and ``error_if_nonfinite``.
    """
    gradients = [parameter.grad for parameter in parameters if parameter.grad is not None]
    device = gradients[0].device if gradients else torch.device('cpu')
    norm_type = float(norm_type)
    if norm_type == float('inf'):
        total = max(
            (gradient.detach().abs().max() for gradient in gradients if gradient.numel()),
            default=torch.zeros((), device=device),
        ).float()
        torch_distributed.all_reduce(total, op=torch_distributed.ReduceOp.MAX)
    else:
        local = sum(
            (gradient.detach().float().norm(norm_type) ** norm_type for gradient in gradients if gradient.numel()),
            torch.zeros((), device=device),
        )
        torch_distributed.all_reduce(local, op=torch_distributed.ReduceOp.SUM)
        total = local ** (1.0 / norm_type)
    if error_if_nonfinite and not torch.isfinite(total):
        raise RuntimeError(f'the total gradient norm over all processes is {float(total)}: non-finite gradients')
    scale = torch.clamp(max_norm / (total + 1e-6), max=1.0)
    for gradient in gradients:
        gradient.detach().mul_(scale.to(gradient.dtype))
    return total


def _plain_tensors(value: Any) -> Any:
    """``value`` with every nested tensor replaced by a plain copy (no subclass, no attributes)."""
    if isinstance(value, torch.Tensor):
        return value.detach().clone().as_subclass(torch.Tensor)
    if isinstance(value, dict):
        return type(value)((key, _plain_tensors(item)) for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return type(value)(_plain_tensors(item) for item in value)
    return value


@STRATEGIES.register_module()
class FSDPStrategy(MMEngineFSDPStrategy):
    """mmengine's ``FSDPStrategy`` (same arguments) with the optimizer built before sharding, clipping over all
    shards, process 0's weights on every process, and plain-tensor state dicts. ``model_wrapper.use_orig_params``
    must stay True: the optimizer updates the model's own parameter objects."""

    def prepare(
        self, model: Union[nn.Module, dict], *, optim_wrapper: Union[BaseOptimWrapper, dict, None] = None, **kwargs
    ) -> Any:
        self._optim_wrapper_config = optim_wrapper
        self._optim_wrapper_before_sharding: Optional[BaseOptimWrapper] = None
        return super().prepare(model, optim_wrapper=optim_wrapper, **kwargs)

    def _wrap_model(self, model: nn.Module) -> nn.Module:
        if (self.model_wrapper or {}).get('use_orig_params', True) is not True:
            raise ValueError(
                'cae_mm.FSDPStrategy needs model_wrapper.use_orig_params=True: the optimizer is built on '
                "the model's own parameters, which FSDP keeps (as shards) only with that setting"
            )
        config = getattr(self, '_optim_wrapper_config', None)
        if isinstance(config, dict):
            config = copy.deepcopy(config)
            config.setdefault('type', 'OptimWrapper')
            if config['type'] in ('AmpOptimWrapper', AmpOptimWrapper):
                config.setdefault('use_fsdp', True)  # mmengine's sharded gradient scaler
            optim_wrapper = build_optim_wrapper(model, config)
            if getattr(optim_wrapper, 'clip_func', None) is torch.nn.utils.clip_grad_norm_:
                optim_wrapper.clip_func = clip_sharded_grad_norm_
            self._optim_wrapper_before_sharding = optim_wrapper
        if torch_distributed.is_initialized() and torch_distributed.get_world_size() > 1:
            # Ranks may seed differently, and FSDP's sync_module_states needs GPU tensors.
            with torch.no_grad():
                for tensor in [*model.parameters(), *model.buffers()]:
                    torch_distributed.broadcast(tensor, src=0)
        return super()._wrap_model(model)

    def model_state_dict(self) -> dict:
        """mmengine's, as plain tensors: the attributes FSDP puts on them would be refused by the restricted loader."""
        return _plain_tensors(super().model_state_dict())

    def optim_state_dict(self) -> dict:
        return _plain_tensors(super().optim_state_dict())

    def build_optim_wrapper(
        self, optim_wrapper: Union[torch.optim.Optimizer, BaseOptimWrapper, dict], model: Optional[nn.Module] = None
    ) -> BaseOptimWrapper:
        if getattr(self, '_optim_wrapper_before_sharding', None) is not None:
            return self._optim_wrapper_before_sharding
        return super().build_optim_wrapper(optim_wrapper, model)
