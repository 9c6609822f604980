# Fine-tuning of a CAE ViT-L/16 pretrained for 1600 epochs (official: 86.2 top-1; official script): 32 x 64 images
# with 2 accumulated steps (4096 per update), lr 2e-3, 50 epochs (5 warmup), layer decay 0.75, drop path 0.2.
_base_ = ['./cae_vit-base-p16_32xb128-fine-tune-100e_in1k.py']
model = dict(
    backbone=dict(
        arch='large',
        drop_path_rate=0.2,
        init_cfg=dict(checkpoint='work_dirs/cae_vit-large-p16_32xb64-dalle-1600e_in1k/epoch_1600.pth'),
    ),
    head=dict(in_channels=1024),
)
train_dataloader = dict(batch_size=64)
warmup_epochs = 5
max_epochs = 50
lr = 2e-3
optim_wrapper = dict(accumulative_counts=2, paramwise_cfg=dict(layer_decay_rate=0.75), optimizer=dict(lr=lr))
# The base schedule's warmup and cosine, at these lengths, from and to 1e-6 at this lr.
param_scheduler = [
    dict(_base_.param_scheduler[0], start_factor=1e-6 / lr, end=warmup_epochs),
    dict(_base_.param_scheduler[1], eta_min_ratio=1e-6 / lr, begin=warmup_epochs, end=max_epochs),
]
train_cfg = dict(max_epochs=max_epochs)
