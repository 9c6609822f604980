# Fine-tuning of a CAE ViT-S/16 (official small: 384 wide, 12 heads) pretrained for 300 epochs. The CAE repository's
# only ViT-S fine-tuning script (project/CAEv2/scripts/caev2_small_300e.sh) sets: 8 x 128 images, lr 4e-4 (at 1024),
# 200 epochs (20 warmup), layer decay 0.75, drop path 0.1; the rest as ViT-B (RandAugment, Mixup/CutMix, smoothing .1,
# random erasing .25, weight decay .05). The paper gives no ViT-S fine-tuning recipe of its own.
_base_ = ['./cae_vit-base-p16_32xb128-fine-tune-100e_in1k.py']
model = dict(
    backbone=dict(
        arch='small', init_cfg=dict(checkpoint='work_dirs/cae_vit-small-p16_32xb64-dalle-300e_in1k/epoch_300.pth')
    ),
    head=dict(in_channels=384),
)
warmup_epochs = 20
max_epochs = 200
lr = 4e-4
optim_wrapper = dict(paramwise_cfg=dict(layer_decay_rate=0.75), optimizer=dict(lr=lr))
# The base schedule's warmup and cosine, at these lengths, from and to 1e-6 at this lr.
param_scheduler = [
    dict(_base_.param_scheduler[0], start_factor=1e-6 / lr, end=warmup_epochs),
    dict(_base_.param_scheduler[1], eta_min_ratio=1e-6 / lr, begin=warmup_epochs, end=max_epochs),
]
train_cfg = dict(max_epochs=max_epochs)
auto_scale_lr = dict(base_batch_size=1024)
