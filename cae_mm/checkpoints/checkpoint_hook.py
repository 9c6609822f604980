"""``default_hooks.checkpoint.type='cae_mm.CheckpointHook'``: the ``last_checkpoint`` pointer written atomically."""

import os.path as osp

from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook as MMEngineCheckpointHook

from cae_mm.registry import HOOKS
from .resume import POINTER_FILE
from .writing import atomic_open


@HOOKS.register_module()
class CheckpointHook(MMEngineCheckpointHook):
    """mmengine's ``CheckpointHook`` (same options); a kill cannot leave the pointer file empty."""

    def _save_checkpoint_with_step(self, runner, step: int, meta: dict) -> None:
        # mmengine's method; only the pointer write differs (atomic_open).
        if self.max_keep_ckpts > 0 and not (self.keep_ckpt_ids and self.keep_ckpt_ids[-1] == step):
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                oldest = self.keep_ckpt_ids.popleft()
                if is_main_process():
                    path = self.file_backend.join_path(self.out_dir, self.filename_tmpl.format(oldest))
                    if self.file_backend.isfile(path):
                        self.file_backend.remove(path)
                    elif self.file_backend.isdir(path):
                        self.file_backend.rmtree(path)
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info('keep_ckpt_ids', list(self.keep_ckpt_ids))
        filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir, filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        runner.save_checkpoint(
            self.out_dir,
            filename,
            self.file_client_args,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler,
            meta=meta,
            by_epoch=self.by_epoch,
            backend_args=self.backend_args,
            **self.args,
        )
        if is_main_process():
            with atomic_open(osp.join(runner.work_dir, POINTER_FILE), 'w') as pointer:
                pointer.write(self.last_ckpt)
