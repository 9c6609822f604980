# The probe and fine-tuning schedules' shape: a linear warmup, then cosine annealing, both stepped every iteration
# through an epoch-based run that validates and tests. A schedule inheriting it gives each step its epochs and its
# learning rates (`dict(_base_.param_scheduler[0], ...)`), and the run its length.
param_scheduler = [
    dict(type='LinearLR', by_epoch=True, begin=0, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop')
val_cfg = dict()
test_cfg = dict()
