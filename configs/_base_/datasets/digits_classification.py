# scikit-learn's handwritten digits (real, 10 classes, 1347 train / 450 val), written as 32 px class folders by
# `python tools/data/labelled_demo_datasets.py` (data/digits/{train,val}/<digit>/*.png): the labelled set of the
# tiny twins. The same pipelines as ImageNet at 32/36 px instead of 224/256.
dataset_type = 'CustomDataset'
data_root = 'data/digits'
train_pipeline = [
    dict(type='cae_mm.LoadImageWithPixelLimit'),
    dict(type='RandomResizedCrop', scale=32, backend='pillow', interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='cae_mm.LoadImageWithPixelLimit'),
    dict(type='ResizeEdge', scale=36, edge='short', backend='pillow', interpolation='bicubic'),
    dict(type='CenterCrop', crop_size=32),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=64,
    num_workers=0,
    persistent_workers=False,
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root, data_prefix='train', pipeline=train_pipeline),
)
val_dataloader = dict(
    train_dataloader,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(train_dataloader['dataset'], data_prefix='val', pipeline=test_pipeline),
)
val_evaluator = dict(type='Accuracy', topk=(1,))
test_dataloader = val_dataloader
test_evaluator = val_evaluator
