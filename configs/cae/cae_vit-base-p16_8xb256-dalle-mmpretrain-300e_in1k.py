# mmpretrain 1.2's CAE variant in cae_mm, for like-for-like comparisons with its users' runs: 75 of 196 patches masked
# (the paper: 98), drop path 0 everywhere (the paper: 0.1), mmpretrain's own two-view crop and BEiT mask generator,
# its optimizer rules and schedule, 8 GPUs x 256 images (train with --amp for its fp16). Everything else is the
# paper's CAE, which mmpretrain's matches (tests/models/algorithms/test_parity_with_mmpretrain.py). Still different, by
# design: cae_mm's alignment target uses the current encoder (mmpretrain's teacher copy is one step stale), and its
# DALL-E tokenizer runs in fp32 (mmpretrain's in fp16 on a GPU), and its image loader refuses images over 100 megapixels
# from their header. Converted mmpretrain checkpoints load into this model.
_base_ = [
    '../_base_/models/cae_vit-base-p16_dalle.py',
    '../_base_/datasets/imagenet_cae_two_view.py',
    '../_base_/schedules/cae_adamw_300e_mmpretrain.py',
    '../_base_/default_runtime.py',
]
model = dict(backbone=dict(drop_path_rate=0.0), neck=dict(drop_path_rate=0.0), head=dict(drop_path_rate=0.0))
train_pipeline = [  # the same crop through mmpretrain's transform, then its mask generator
    *_base_.train_pipeline[:2],
    dict(_base_.train_pipeline[2], type='RandomResizedCropAndInterpolationWithTwoPic'),
    dict(
        type='BEiTMaskGenerator', input_size=(14, 14), num_masking_patches=75, max_num_patches=None, min_num_patches=16
    ),
    _base_.train_pipeline[4],
]
train_dataloader = dict(batch_size=256, num_workers=8, dataset=dict(pipeline=train_pipeline))
