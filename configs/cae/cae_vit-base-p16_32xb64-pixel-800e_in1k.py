# CAE ViT-B/16, normalised-pixel targets, 800 epochs on ImageNet-1k, 32 GPUs x 64 images.
_base_ = [
    '../_base_/models/cae_vit-base-p16.py',
    '../_base_/datasets/imagenet_cae.py',
    '../_base_/schedules/cae_adamw_800e.py',
    '../_base_/default_runtime.py',
]
