from .alignment_weight_warmup_hook import AlignmentWeightWarmupHook
from .compile_forward_hook import CompileForwardHook
from .feature_rank_hook import FeatureRankHook
from .random_state_hook import RandomStateHook, capture_random_states, restore_random_states
from .reconstruction_visualization_hook import ReconstructionVisualizationHook
from .stop_on_non_finite_hook import StopOnNonFiniteHook
from .training_length_check_hook import TrainingLengthCheckHook

__all__ = [
    'AlignmentWeightWarmupHook',
    'CompileForwardHook',
    'FeatureRankHook',
    'RandomStateHook',
    'ReconstructionVisualizationHook',
    'StopOnNonFiniteHook',
    'TrainingLengthCheckHook',
    'capture_random_states',
    'restore_random_states',
]
