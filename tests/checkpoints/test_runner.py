"""cae_mm.Runner's own log folder per run: two runs started in the same second in one work dir must not share it."""

import time
from types import SimpleNamespace

import torch
from mmengine.model import BaseModel
from mmengine.runner import runner as mmengine_runner

from cae_mm.checkpoints import Runner


class TwoByTwo(BaseModel):
    def __init__(self) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(2, 2)

    def forward(self, inputs: torch.Tensor, data_samples=None, mode: str = 'tensor') -> torch.Tensor:
        return self.linear(inputs)


def test_runs_started_in_the_same_second_get_their_own_log_folder(tmp_path, monkeypatch):
    frozen = time.time()
    monkeypatch.setattr(
        mmengine_runner, 'time', SimpleNamespace(time=lambda: frozen, strftime=time.strftime, localtime=time.localtime)
    )
    first = Runner(model=TwoByTwo(), work_dir=str(tmp_path), experiment_name='same_second')
    first.logger.info('first run')
    second = Runner(model=TwoByTwo(), work_dir=str(tmp_path), experiment_name='same_second')
    second.logger.info('second run')
    third = Runner(model=TwoByTwo(), work_dir=str(tmp_path), experiment_name='same_second')

    stamp = time.strftime('%Y%m%d_%H%M%S', time.localtime(frozen))
    assert [first.timestamp, second.timestamp, third.timestamp] == [stamp, f'{stamp}_1', f'{stamp}_2']
    assert len({first.log_dir, second.log_dir, third.log_dir}) == 3
    assert second.logger is not first.logger
    first_log = (tmp_path / stamp / f'{stamp}.log').read_text()
    second_log = (tmp_path / f'{stamp}_1' / f'{stamp}_1.log').read_text()
    assert 'first run' in first_log and 'second run' not in first_log
    assert 'second run' in second_log


def test_a_run_in_another_work_dir_in_the_same_second_does_not_take_the_log(tmp_path, monkeypatch):
    """tools/test.py (its own work dir) then ``--resume`` in the same process and second: the resume must log in its
    own work dir, not through the test run's logger, whose name carries the same timestamp."""
    frozen = time.time()
    monkeypatch.setattr(
        mmengine_runner, 'time', SimpleNamespace(time=lambda: frozen, strftime=time.strftime, localtime=time.localtime)
    )
    testing = Runner(model=TwoByTwo(), work_dir=str(tmp_path / 'test'), experiment_name='other_dir')
    testing.logger.info('test run')
    resumed = Runner(model=TwoByTwo(), work_dir=str(tmp_path / 'train'), experiment_name='other_dir')
    resumed.logger.info('resumed run')

    assert resumed.logger is not testing.logger
    logs = sorted((tmp_path / 'train').glob('*/*.log'))
    assert len(logs) == 1 and 'resumed run' in logs[0].read_text()
    assert 'resumed run' not in next((tmp_path / 'test').glob('*/*.log')).read_text()
