"""The batch-size check of heads that train a BatchNorm."""


def check_batch_norm_batch(batch_size: int, head: str) -> None:
    """Refuse a training ``batch_size`` (this process's) under 2, naming ``head`` and the config keys to change.

    Raises:
        ValueError: if ``batch_size < 2``.
    """
    if batch_size < 2:
        raise ValueError(
            f'{head} trains a BatchNorm, which needs at least 2 samples per batch on each process; this batch has '
            f'{batch_size}: set train_dataloader.batch_size >= 2 and keep train_dataloader.drop_last=True (the probe '
            'configs set it) so that the last, incomplete batch of an epoch is dropped'
        )
