from .random_state_hook import RandomStateHook, capture_random_states, restore_random_states
from .stop_on_non_finite_hook import StopOnNonFiniteHook

__all__ = ['RandomStateHook', 'StopOnNonFiniteHook', 'capture_random_states', 'restore_random_states']
