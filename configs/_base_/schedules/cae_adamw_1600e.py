# CAE pretraining for 1600 epochs: warmup 40 epochs, otherwise as the 300-epoch schedule.
_base_ = ['./cae_adamw_300e.py']
warmup_epochs = 40
max_epochs = 1600
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=True, begin=0, end=warmup_epochs, convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        eta_min=1e-5,
        by_epoch=True,
        begin=warmup_epochs,
        end=max_epochs,
        convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
