"""Checkpoint errors: ``CheckpointError`` and one subclass per failing step (read, match, write, convert)."""


class CheckpointError(RuntimeError):
    """A checkpoint file that cannot be used; the message names the file, the problem and the fix."""


class CheckpointReadError(CheckpointError):
    """Missing, truncated, corrupt, without weights, or holding code or classes that are refused."""


class CheckpointMismatchError(CheckpointError):
    """A readable checkpoint whose tensors, shapes or optimizer groups do not fit the model it is loaded into."""


class CheckpointWriteError(CheckpointError):
    """Refused write: the output is a folder, an input or an existing file, or the work dir is locked."""


class CheckpointConversionError(CheckpointError):
    """A checkpoint that cannot be converted to another layout without losing or inventing weights."""


class TokenizerWeightsError(CheckpointReadError):
    """A tokenizer weights file that is missing, unreadable, of the wrong format or architecture."""
