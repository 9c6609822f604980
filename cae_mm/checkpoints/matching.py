"""Checks that a checkpoint's tensors and optimizer groups fit a model, used by every loading path."""

from typing import Any, Collection, Iterable, Mapping, NamedTuple

import torch

from .errors import CheckpointMismatchError


def listing(keys: Iterable[str], limit: int = 20) -> str:
    """``keys`` as ``'a, b, c'``, sorted, cut after ``limit`` names with the total count."""
    keys = sorted(keys)
    shown = ', '.join(keys[:limit])
    return f'{shown}, ... ({len(keys)} in all)' if len(keys) > limit else shown


class KeyComparison(NamedTuple):
    """Missing, unexpected and wrongly shaped tensor names; falsy when the checkpoint fits."""

    missing: list[str]
    unexpected: list[str]
    wrong_shapes: list[str]

    def __bool__(self) -> bool:
        return bool(self.missing or self.unexpected or self.wrong_shapes)

    def describe(self) -> str:
        """``'missing keys: ... | unexpected keys: ... | wrong shapes: KEY: checkpoint (...), model (...)'``."""
        problems = (
            f'missing keys: {listing(self.missing)}' if self.missing else '',
            f'unexpected keys: {listing(self.unexpected)}' if self.unexpected else '',
            f'wrong shapes: {"; ".join(self.wrong_shapes[:20])}' if self.wrong_shapes else '',
        )
        return ' | '.join(problem for problem in problems if problem)


def compare_keys(
    weights: Mapping[str, torch.Tensor],
    expected: Mapping[str, torch.Tensor],
    may_be_missing: Collection[str] = (),
    may_be_unexpected: Collection[str] = (),
    source_name: str = 'checkpoint',
) -> KeyComparison:
    """How a checkpoint's tensors differ from a model's state dict; wrong shapes in the model's order.

    Args:
        weights: the checkpoint's ``{name: tensor}``.
        expected: the model's ``state_dict()``.
        may_be_missing: model keys the checkpoint need not hold.
        may_be_unexpected: checkpoint keys skipped on purpose.
        source_name: name of the checkpoint side in the wrong-shape lines.
    """
    missing = sorted(set(expected) - set(weights) - set(may_be_missing))
    unexpected = sorted(set(weights) - set(expected) - set(may_be_unexpected))
    wrong_shapes = [
        f'{key}: {source_name} {tuple(weights[key].shape)}, model {tuple(expected[key].shape)}'
        for key in expected
        if key in weights and weights[key].shape != expected[key].shape
    ]
    return KeyComparison(missing, unexpected, wrong_shapes)


def require_exact_match(
    weights: Mapping[str, torch.Tensor], expected: Mapping[str, torch.Tensor], source: Any, target: str, hint: str = ''
) -> None:
    """Raise unless ``weights`` holds exactly the tensors of ``expected``, with the same shapes.

    Args:
        weights: the checkpoint's tensors.
        expected: the model's ``state_dict()``.
        source: the checkpoint file, for the message.
        target: what it is loaded into, for the message.
        hint: advice appended to the message.

    Raises:
        CheckpointMismatchError: listing missing keys, unexpected keys and wrong shapes.
    """
    differences = compare_keys(weights, expected)
    if differences:
        raise CheckpointMismatchError(
            f'{source} does not match {target}: {differences.describe()}' + (f' | {hint}' if hint else '')
        )


def _prefix_hint(checkpoint_keys: set[str], model_keys: set[str]) -> str:
    """Advice for keys that would match after adding or removing a leading ``name.``."""
    for prefix in sorted({key.split('.', 1)[0] for key in checkpoint_keys if '.' in key}):
        if {key[len(prefix) + 1 :] for key in checkpoint_keys if key.startswith(prefix + '.')} & model_keys:
            return (
                f"its keys start with '{prefix}.', which this model does not have: load it with "
                f"init_cfg=dict(type='Pretrained', checkpoint=PATH, prefix='{prefix}.')"
            )
    for prefix in sorted({key.split('.', 1)[0] for key in model_keys if '.' in key}):
        if {key[len(prefix) + 1 :] for key in model_keys if key.startswith(prefix + '.')} & checkpoint_keys:
            return (
                f"it holds only the model's '{prefix}': load it there, "
                f"{prefix}=dict(init_cfg=dict(type='Pretrained', checkpoint=PATH)), not with load_from"
            )
    return 'it is a checkpoint of another model'


def require_overlap(weights: Mapping[str, torch.Tensor], model: torch.nn.Module, source: Any) -> None:
    """Raise if no tensor of the checkpoint matches a parameter of ``model`` (a non-strict load would load nothing).

    Args:
        weights: the checkpoint's tensors (a ``module.`` prefix is ignored).
        model: the model to load into.
        source: the checkpoint file, for the message.

    Raises:
        CheckpointMismatchError: no shared name, with a hint when a prefix explains it.
    """
    checkpoint_keys = {key.removeprefix('module.') for key in weights}
    model_keys = set(model.state_dict())
    if model_keys and not checkpoint_keys & model_keys:
        raise CheckpointMismatchError(
            f'none of the {len(checkpoint_keys)} tensors in {source} matches a parameter of {type(model).__name__}, '
            f'so nothing would be loaded: {_prefix_hint(checkpoint_keys, model_keys)} '
            f'(checkpoint keys: {listing(checkpoint_keys, 3)}; model keys: {listing(model_keys, 3)})'
        )


def require_optimizer_match(saved: Any, optimizer: torch.optim.Optimizer, source: Any) -> None:
    """Raise unless a saved optimizer state has ``optimizer``'s group sizes and state shapes (torch checks sizes only).

    Args:
        saved: the checkpoint's ``'optimizer'`` entry (``Optimizer.state_dict()``).
        optimizer: the optimizer of the run being resumed.
        source: the checkpoint file, for the message.

    Raises:
        CheckpointMismatchError: naming the group or parameter that differs.
    """
    if not isinstance(saved, Mapping) or not isinstance(saved.get('param_groups'), list):
        raise CheckpointMismatchError(
            f"{source} has no optimizer state ('optimizer' holds "
            f'{type(saved).__name__}): resume from a checkpoint written by training'
        )
    saved_groups = [group.get('params', []) for group in saved['param_groups']]
    current_groups = [group['params'] for group in optimizer.param_groups]
    if [len(group) for group in saved_groups] != [len(group) for group in current_groups]:
        raise CheckpointMismatchError(
            f'{source} holds an optimizer with {len(saved_groups)} parameter groups of sizes '
            f'{[len(group) for group in saved_groups]}, this run has {len(current_groups)} groups of sizes '
            f'{[len(group) for group in current_groups]}: the checkpoint is of another model or optimizer setting '
            '(paramwise_cfg, layer decay, frozen stages)'
        )
    state = saved.get('state') or {}
    for saved_group, current_group in zip(saved_groups, current_groups):
        for index, parameter in zip(saved_group, current_group):
            for name, value in (state.get(index) or {}).items():
                if isinstance(value, torch.Tensor) and value.dim() > 0 and value.shape != parameter.shape:
                    raise CheckpointMismatchError(
                        f'{source}: optimizer state {name!r} of parameter {index} has shape {tuple(value.shape)}, '
                        f'the parameter has {tuple(parameter.shape)}: the checkpoint is of another model size'
                    )
