# Fine-tuning of a CAE ViT-B/16 pretrained for 1600 epochs (official: 83.9 top-1), 32 x 128 images per step.
# The encoder comes from --cfg-options model.backbone.init_cfg.checkpoint=PATH (default: the last checkpoint of the
# DALL-E-target pretraining config under work_dirs/); a full CAE checkpoint or a backbone-only one.
_base_ = [
    '../_base_/models/cae_vit-base-p16_fine-tune.py',
    '../_base_/datasets/imagenet_fine-tune.py',
    '../_base_/schedules/fine_tune_adamw_100e.py',
    '../_base_/default_runtime.py',
]
default_hooks = dict(checkpoint=dict(type='cae_mm.CheckpointHook', interval=1, max_keep_ckpts=2, save_best='auto'))
