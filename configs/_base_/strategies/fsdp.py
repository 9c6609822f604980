# Fully sharded data parallel (FSDP) training through mmengine's FlexibleRunner: every process holds a shard of the
# parameters, gradients and optimizer state, and each encoder/regressor/decoder block is gathered only for its own
# forward and backward. Add this file to a config's _base_ list, or run `tools/train.py CONFIG --strategy fsdp`;
# launch with tools/dist_train.sh or tools/slurm_train.sh as usual.
# cae_mm.FSDPStrategy is mmengine's FSDPStrategy with every process starting from process 0's weights, the optimizer's
# parameter groups built on the unwrapped model, and gradient clipping over all shards (cae_mm/engine/fsdp_strategy.py).
runner_type = 'cae_mm.FlexibleRunner'
strategy = dict(
    type='cae_mm.FSDPStrategy',
    model_wrapper=dict(
        type='MMFullyShardedDataParallel',
        auto_wrap_policy=dict(type='cae_mm.transformer_block_wrap_policy'),
        use_orig_params=True,
    ),
    # Checkpoints hold the whole model, gathered on process 0: they load anywhere (one process, other sizes,
    # tools/model_converters) like those of non-sharded training.
    state_dict_cfg='full',
)
