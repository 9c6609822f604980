"""The optimizer parameter-group builder for CAE pretraining, fine-tuning, mmdet and mmseg."""

from typing import Callable, Optional

from mmengine.logging import MMLogger
from mmengine.optim import DefaultOptimWrapperConstructor, OptimWrapper
from torch import nn

from cae_mm.registry import OPTIM_WRAPPER_CONSTRUCTORS


def no_weight_decay_names(model: nn.Module) -> set[str]:
    """Full names of ``model``'s parameters that sub-modules exclude from weight decay via ``no_weight_decay()``."""
    names = set()
    for module_name, module in model.named_modules():
        if callable(getattr(module, 'no_weight_decay', None)):
            names.update(f'{module_name}.{name}' if module_name else name for name in module.no_weight_decay())
    return names


def layer_depth_function(model: nn.Module) -> Optional[Callable[[str], tuple[int, int]]]:
    """``name -> (layer_id, num_layer_ids)`` from ``model``'s or its backbone's ``get_layer_depth``; None without."""
    backbone = getattr(model, 'backbone', None)
    if backbone is not None and hasattr(backbone, 'get_layer_depth'):
        return lambda name: backbone.get_layer_depth(name, 'backbone.')
    if hasattr(model, 'get_layer_depth'):
        return lambda name: model.get_layer_depth(name, '')
    return None


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class LayerDecayOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """Parameter groups without weight decay for 1-D parameters and ``no_weight_decay()`` names (also marked
    ``lars_exclude``), and with lr scaled by ``layer_decay_rate ** (last_layer_id - layer_id)`` (``get_layer_depth``).

    Adam(W) on a CPU gets ``fused=True`` unless the config sets ``fused`` or ``foreach``.

    Args:
        optim_wrapper_cfg: mmengine's optimizer wrapper config.
        paramwise_cfg: only ``layer_decay_rate`` in (0, 1] (default 1.0: no layer decay).

    Raises:
        ValueError: another ``paramwise_cfg`` key, ``layer_decay_rate`` outside (0, 1], or below 1 for a model without
            ``get_layer_depth`` (when the groups are built).
    """

    def __init__(self, optim_wrapper_cfg: dict, paramwise_cfg: Optional[dict] = None) -> None:
        paramwise_cfg = dict(paramwise_cfg or {})
        self.layer_decay_rate = float(paramwise_cfg.pop('layer_decay_rate', 1.0))
        if paramwise_cfg:
            raise ValueError(
                f'LayerDecayOptimWrapperConstructor takes only layer_decay_rate in paramwise_cfg, '
                f'got unknown keys {sorted(paramwise_cfg)}'
            )
        if not 0 < self.layer_decay_rate <= 1:
            raise ValueError(f'layer_decay_rate must be in (0, 1], got {self.layer_decay_rate}')
        # A non-empty paramwise_cfg makes mmengine's __call__ route through add_params.
        super().__init__(optim_wrapper_cfg, dict(layer_decay_rate=self.layer_decay_rate))

    def __call__(self, model: nn.Module) -> OptimWrapper:
        optimizer_type = self.optimizer_cfg.get('type')
        if (
            optimizer_type in ('Adam', 'AdamW')
            and not {'fused', 'foreach'} & set(self.optimizer_cfg)
            and all(parameter.device.type == 'cpu' for parameter in model.parameters())
        ):
            self.optimizer_cfg['fused'] = True
            MMLogger.get_current_instance().info(
                f'{optimizer_type} on CPU: fused=True (one pass per step; set '
                'optimizer.fused=False for the per-tensor loop)'
            )
        return super().__call__(model)

    def add_params(self, params: list[dict], module: nn.Module, prefix: str = '', **kwargs) -> None:
        """Append to ``params`` one group per (layer id, decay or not) of ``module``; ``prefix``, ``kwargs`` unused."""
        excluded = no_weight_decay_names(module)
        depth_of = layer_depth_function(module) if self.layer_decay_rate < 1 else None
        if depth_of is None and self.layer_decay_rate < 1:
            raise ValueError('layer_decay_rate < 1 needs a backbone with get_layer_depth(param_name, prefix)')
        groups: dict[tuple[int, bool], dict] = {}
        for name, parameter in module.named_parameters():
            if not parameter.requires_grad:
                continue
            decay = parameter.ndim > 1 and name not in excluded
            layer_id, num_layer_ids = depth_of(name) if depth_of else (0, 1)
            scale = self.layer_decay_rate ** (num_layer_ids - 1 - layer_id)
            group = groups.setdefault(
                (layer_id, decay),
                dict(
                    params=[],
                    lr=self.base_lr * scale,
                    weight_decay=self.base_wd if decay else 0.0,
                    lr_scale=scale,
                    lars_exclude=not decay,
                    param_names=[],
                ),
            )
            group['params'].append(parameter)
            group['param_names'].append(name)
        params.extend(groups[key] for key in sorted(groups))
        no_decay = sum(len(g['params']) for (_, decay), g in groups.items() if not decay)
        MMLogger.get_current_instance().info(
            f'{len(groups)} parameter groups; {no_decay} tensors without weight decay; '
            f'layer_decay_rate={self.layer_decay_rate}'
        )
