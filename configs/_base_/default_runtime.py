# Runtime shared by every cae_mm config: mmpretrain stays the default scope; cae_mm's classes are named `cae_mm.Name`.
default_scope = 'mmpretrain'
custom_imports = dict(imports=['cae_mm'], allow_failed_imports=False)
# cae_mm's Runner and CheckpointHook (cae_mm/checkpoints): checkpoints read without running code, written atomically,
# checked against the model before loading; --resume by iteration number under a work dir lock.
runner_type = 'cae_mm.Runner'

default_hooks = dict(
    runtime_info=dict(type='RuntimeInfoHook'),
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=100),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='cae_mm.CheckpointHook', interval=1, max_keep_ckpts=3),
    sampler_seed=dict(type='DistSamplerSeedHook'),
)
# Exact resume (generator states in every checkpoint), a clear stop at the first NaN/inf loss or weight, and a run of
# no steps refused (schedules longer than the run reported): docs/troubleshooting.md
custom_hooks = [
    dict(type='cae_mm.RandomStateHook'),
    dict(type='cae_mm.StopOnNonFiniteHook'),
    dict(type='cae_mm.TrainingLengthCheckHook'),
]
env_cfg = dict(
    cudnn_benchmark=False, mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0), dist_cfg=dict(backend='nccl')
)
log_processor = dict(window_size=10, custom_cfg=[dict(data_src='', method='mean', window_size='global')])
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='UniversalVisualizer', vis_backends=vis_backends)
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0, diff_rank_seed=True)
