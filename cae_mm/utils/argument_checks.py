"""Checks of config values where they enter (a module's or transform's ``__init__``), not at every training step.

Each error names the option as it is written in the config, the value given and the range allowed.
"""

import numbers


def check_positive_integer(value: object, name: str, meaning: str = '') -> int:
    """Return ``value`` as an ``int`` if it is an integer >= 1.

    A float (even ``16.0``) or a bool is refused rather than truncated: a float usually means a computed value that
    went wrong (``196 * 0.5``) or a typo.

    Args:
        value: the config value.
        name: the option, e.g. ``'CAEVisionTransformer patch_size'``.
        meaning: what the number counts, added to the error, e.g. ``'pixels per patch side'``.

    Raises:
        ValueError: for anything else.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        what = f' ({meaning})' if meaning else ''
        raise ValueError(f'{name} must be a positive integer{what}, got {value!r}')
    return int(value)


def check_rate(value: object, name: str) -> float:
    """Return ``value`` as a ``float`` if it is a number in [0, 1) (drop path, dropout).

    Outside this range mmcv's ``DropPath`` trains silently wrong: a rate of 2 never drops (its keep probability -1
    cancels in ``x / keep * floor(keep + U)``), 1.5 doubles or zeroes a branch at random, 1 divides by zero.

    Args:
        value: the config value.
        name: the option, e.g. ``'CAEVisionTransformer drop_path_rate'``.

    Raises:
        ValueError: for anything else.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value < 1:
        raise ValueError(f'{name} must be a number in [0, 1), got {value!r}')
    return float(value)
