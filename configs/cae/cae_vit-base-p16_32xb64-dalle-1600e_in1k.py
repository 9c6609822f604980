# CAE ViT-B/16, DALL-E targets (the paper's main setting), 1600 epochs on ImageNet-1k, 32 GPUs x 64 images.
_base_ = [
    '../_base_/models/cae_vit-base-p16_dalle.py',
    '../_base_/datasets/imagenet_cae_two_view.py',
    '../_base_/schedules/cae_adamw_1600e.py',
    '../_base_/default_runtime.py',
]
