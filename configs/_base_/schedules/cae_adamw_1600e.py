# CAE pretraining for 1600 epochs: warmup 40 epochs, otherwise as the 300-epoch schedule.
_base_ = ['./cae_adamw_300e.py']
warmup_epochs = 40
max_epochs = 1600
# The base schedule's warmup and cosine, at these lengths.
param_scheduler = [
    dict(_base_.param_scheduler[0], end=warmup_epochs),
    dict(_base_.param_scheduler[1], begin=warmup_epochs, end=max_epochs),
]
train_cfg = dict(max_epochs=max_epochs)
