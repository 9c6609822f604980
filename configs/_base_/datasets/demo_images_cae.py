# The bundled demo dataset: 22 real photographs from scikit-image's and scikit-learn's wheels, laid out by
# `python tools/data/demo_images.py` (tools/install.sh runs it) under data/cae_demo/.
# Any folder of images works: --cfg-options train_dataloader.dataset.data_root=/path/to/images
_base_ = ['./imagenet_cae.py']
train_dataloader = dict(
    batch_size=16,
    num_workers=2,
    pin_memory=False,
    sampler=dict(type='InfiniteSampler'),
    dataset=dict(
        _delete_=True,
        type='CustomDataset',
        data_root='data/cae_demo/images',
        with_label=False,
        pipeline={{_base_.train_pipeline}},
    ),
)
