# CAE pretraining on the digits images without their labels (scikit-learn's handwritten digits: the 1347 training
# images of data/digits/train, 32 px; `python tools/data/labelled_demo_datasets.py` writes them): the encoder of
# the probe and fine-tuning twins (64 wide, 2 blocks, 4 px patches: an 8x8 grid), regressor and decoder of one block,
# 32 of 64 patches masked, normalised-pixel targets, 1500 iterations of 64 images. Crops keep at least half the image
# (a digit fills its frame). tools/benchmarks/benchmark_probes.py runs it before probing the encoder.
_base_ = ['./cae_vit-test-p8_1xb4-pixel-8i_test.py']
patch_size = 4
model = dict(
    backbone=dict(patch_size=patch_size),
    head=dict(out_dims=patch_size * patch_size * 3),
    target_generator=dict(patch_size=patch_size),
)
train_pipeline = [  # the twin's pipeline at 32 px, with 4 px patches
    *_base_.train_pipeline[:2],
    dict(_base_.train_pipeline[2], size=32, scale=(0.5, 1.0)),
    dict(_base_.train_pipeline[3], patch_size=patch_size),
    _base_.train_pipeline[4],
]
train_dataloader = dict(batch_size=64, dataset=dict(data_root='data/digits/train', pipeline=train_pipeline))
max_iters = 1500
warmup_iters = 150
param_scheduler = [  # the base schedule's warmup and cosine, lengthened
    dict(_base_.param_scheduler[0], end=warmup_iters),
    dict(_base_.param_scheduler[1], begin=warmup_iters, end=max_iters),
]
train_cfg = dict(max_iters=max_iters)
default_hooks = dict(logger=dict(interval=50), checkpoint=dict(interval=max_iters))
