"""FSDP for CAE through mmengine's ``FlexibleRunner``: each transformer block its own shard unit, and an optimizer
that sees the parameters as the model defines them.

mmengine's ``FSDPStrategy`` builds the optimizer from the sharded parameters: flat 1-D slices under FSDP's prefixed
names, which defeat the no-decay rule for 1-D parameters and ``get_layer_depth``; and ``clip_grad_norm_`` measures only
this process's shard. :class:`FSDPStrategy` builds the optimizer wrapper on the model before wrapping (FSDP with
``use_orig_params=True`` shards those very parameter objects) and clips with the norm over all shards.
"""

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
    """FSDP auto-wrap policy: every encoder, regressor and decoder block is its own FSDP unit.

    A process then holds one block's full parameters at a time (gathered for its forward and backward) besides its
    shard of everything else. Use as ``auto_wrap_policy=dict(type='cae_mm.transformer_block_wrap_policy')``.
    """
    return transformer_auto_wrap_policy(
        module, recurse, nonwrapped_numel, transformer_layer_cls={TransformerBlock, RegressorBlock}
    )


def clip_sharded_grad_norm_(
    parameters: Iterable[torch.Tensor], max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False
) -> torch.Tensor:
    """``torch.nn.utils.clip_grad_norm_`` for parameters sharded across processes (every element on one process).

    Args:
        parameters: this process's parameters (FSDP shards).
        max_norm: largest allowed norm of the whole model's gradient.
        norm_type: p of the p-norm (``inf`` for the largest absolute value).
        error_if_nonfinite: raise if the total norm is NaN or inf.

    Returns:
        The total norm over all processes (before clipping), the same on every process.
    """
    gradients = [parameter.grad for parameter in parameters if parameter.grad is not None]
    device = gradients[0].device if gradients else torch.device('cpu')
    norm_type = float(norm_type)
    if norm_type == float('inf'):
        local = max(
            (gradient.detach().abs().max() for gradient in gradients if gradient.numel()),
            default=torch.zeros((), device=device),
        ).float()
        torch_distributed.all_reduce(local, op=torch_distributed.ReduceOp.MAX)
        total = local
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
    """``value`` with every tensor in its dicts/lists/tuples replaced by a plain copy (no subclass, no attributes)."""
    if isinstance(value, torch.Tensor):
        return value.detach().clone().as_subclass(torch.Tensor)
    if isinstance(value, dict):
        return type(value)((key, _plain_tensors(item)) for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return type(value)(_plain_tensors(item) for item in value)
    return value


@STRATEGIES.register_module()
class FSDPStrategy(MMEngineFSDPStrategy):
    """mmengine's ``FSDPStrategy`` with the optimizer built before sharding and clipping over all shards.

    Every process also starts from process 0's weights (broadcast before sharding). Takes mmengine's arguments
    (``model_wrapper``, ``state_dict_cfg``, ...); the wrapper must keep ``use_orig_params=True`` (mmengine's default),
    which keeps the model's own parameter objects, so that the optimizer built before sharding updates the shards.
    See ``configs/_base_/strategies/fsdp.py``.
    """

    def prepare(
        self, model: Union[nn.Module, dict], *, optim_wrapper: Union[BaseOptimWrapper, dict, None] = None, **kwargs
    ) -> Any:
        """mmengine's ``prepare``; the optimizer wrapper config is kept for :meth:`_wrap_model`."""
        self._optim_wrapper_config = optim_wrapper
        self._optim_wrapper_before_sharding: Optional[BaseOptimWrapper] = None
        return super().prepare(model, optim_wrapper=optim_wrapper, **kwargs)

    def _wrap_model(self, model: nn.Module) -> nn.Module:
        """Build the optimizer wrapper on the plain model, start every process from process 0's weights, shard."""
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
            # Processes seed differently (randomness.diff_rank_seed), and FSDP's own sync_module_states needs GPU
            # tensors; broadcasting before sharding works on every device.
            with torch.no_grad():
                for tensor in [*model.parameters(), *model.buffers()]:
                    torch_distributed.broadcast(tensor, src=0)
        return super()._wrap_model(model)

    def model_state_dict(self) -> dict:
        """mmengine's (gathered on process 0 with ``state_dict_cfg='full'``), as plain tensors.

        FSDP's gathered tensors carry Python attributes, which ``torch.save`` records with a reconstruction function
        that cae_mm's restricted checkpoint loader refuses; plain copies load like any other checkpoint.
        """
        return _plain_tensors(super().model_state_dict())

    def optim_state_dict(self) -> dict:
        """mmengine's, as plain tensors (see :meth:`model_state_dict`)."""
        return _plain_tensors(super().optim_state_dict())

    def build_optim_wrapper(
        self, optim_wrapper: Union[torch.optim.Optimizer, BaseOptimWrapper, dict], model: Optional[nn.Module] = None
    ) -> BaseOptimWrapper:
        """The wrapper built before sharding (its parameters are now the shards); mmengine's for anything else."""
        if getattr(self, '_optim_wrapper_before_sharding', None) is not None:
            return self._optim_wrapper_before_sharding
        return super().build_optim_wrapper(optim_wrapper, model)
