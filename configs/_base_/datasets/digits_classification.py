# scikit-learn's handwritten digits (real, 10 classes, 1347 train / 450 val), written as 32 px class folders by
# `python tools/data/labelled_demo_datasets.py` (data/digits/{train,val}/<digit>/*.png): the labelled set of the
# tiny twins. The ImageNet probe data (./imagenet_probe.py) at 32/36 px instead of 224/256, read from class folders
# in the training process, top-1 accuracy only.
_base_ = ['./imagenet_probe.py']
dataset_type = 'CustomDataset'
data_root = 'data/digits'
train_pipeline = [_base_.train_pipeline[0], dict(_base_.train_pipeline[1], scale=32), *_base_.train_pipeline[2:]]
test_pipeline = [
    _base_.test_pipeline[0],
    dict(_base_.test_pipeline[1], scale=36),
    dict(_base_.test_pipeline[2], crop_size=32),
    _base_.test_pipeline[3],
]
train_dataloader = dict(
    batch_size=64,
    num_workers=0,
    persistent_workers=False,
    pin_memory=False,
    dataset=dict(_delete_=True, type=dataset_type, data_root=data_root, data_prefix='train', pipeline=train_pipeline),
)
val_dataloader = dict(
    train_dataloader, dataset=dict(train_dataloader['dataset'], data_prefix='val', pipeline=test_pipeline)
)
test_dataloader = val_dataloader
val_evaluator = dict(topk=(1,))
test_evaluator = val_evaluator
