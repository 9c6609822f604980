"""One error hierarchy for everything that goes wrong with a checkpoint file.

``CheckpointError`` is the base; each subclass says which step failed: reading the file, matching it to a model,
writing one, or converting between layouts. Every message names the file and says what to do about it.
"""


class CheckpointError(RuntimeError):
    """A checkpoint file that cannot be used; the message names the file, the problem and the fix."""


class CheckpointReadError(CheckpointError):
    """A file that cannot be read as a checkpoint: missing, truncated, corrupt, without weights, or holding objects
    (TorchScript code, unknown classes) that are refused because loading them could run code."""


class CheckpointMismatchError(CheckpointError):
    """A readable checkpoint whose tensors, shapes or optimizer groups do not fit the model it is loaded into."""


class CheckpointWriteError(CheckpointError):
    """A checkpoint (or tool output) that is not written: it would replace its input or an existing file, its path is
    a folder, or the work dir is in use by a live run."""


class CheckpointConversionError(CheckpointError):
    """A checkpoint that cannot be converted to another layout without losing or inventing weights."""


class TokenizerWeightsError(CheckpointReadError):
    """A tokenizer weights file that is missing, unreadable, of the wrong format, or for another architecture."""
