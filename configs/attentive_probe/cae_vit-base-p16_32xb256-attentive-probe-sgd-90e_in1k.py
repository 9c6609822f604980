# Attentive probe of a CAE ViT-B/16 pretrained for 1600 epochs (official: 77.2 top-1), 32 x 256 images per step.
# The encoder comes from --cfg-options model.backbone.init_cfg.checkpoint=PATH (default: the last checkpoint of the
# DALL-E-target pretraining config under work_dirs/); a full CAE checkpoint or a backbone-only one.
_base_ = [
    '../_base_/models/cae_vit-base-p16_attentive-probe.py',
    '../_base_/datasets/imagenet_probe.py',
    '../_base_/schedules/attentive_probe_sgd_90e.py',
    '../_base_/default_runtime.py',
]
train_dataloader = dict(batch_size=256)
val_dataloader = dict(batch_size=256)
test_dataloader = val_dataloader
default_hooks = dict(checkpoint=dict(type='cae_mm.CheckpointHook', interval=10, max_keep_ckpts=3))
