"""Checks of config values where they enter (an ``__init__``); errors name the option, the value and the range."""

import numbers


def check_positive_integer(value: object, name: str, meaning: str = '') -> int:
    """Return ``value`` as an ``int`` if it is an integer >= 1; a float (even ``16.0``) or a bool is refused.

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
    """Return ``value`` as a ``float`` if it is a number in [0, 1) (drop path, dropout; mmcv fails silently outside);
    ``name`` is the option the error names, e.g. ``'CAEVisionTransformer drop_path_rate'``.

    Raises:
        ValueError: for anything else.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value < 1:
        raise ValueError(f'{name} must be a number in [0, 1), got {value!r}')
    return float(value)
