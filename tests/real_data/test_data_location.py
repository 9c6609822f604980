"""The real-data tests skip without ../shared/data, saying where it goes, except in CI, where they fail."""

import pytest

from tests.real_data.conftest import REPO_ROOT, require_data_set, shared_data_root


def test_default_location_is_beside_the_checkout(monkeypatch):
    monkeypatch.delenv('CAE_MM_DATA', raising=False)
    assert shared_data_root() == (REPO_ROOT.parent / 'shared' / 'data').resolve()


def test_missing_data_skips_and_says_where_it_goes(monkeypatch, tmp_path):
    monkeypatch.setenv('CAE_MM_DATA', str(tmp_path))
    monkeypatch.delenv('CI', raising=False)
    with pytest.raises(pytest.skip.Exception, match=r'\.\./shared/data.*CAE_MM_DATA'):
        require_data_set('coco128')


def test_missing_data_fails_in_ci(monkeypatch, tmp_path):
    monkeypatch.setenv('CAE_MM_DATA', str(tmp_path))
    monkeypatch.setenv('CI', 'true')
    with pytest.raises(pytest.fail.Exception, match='coco128'):
        require_data_set('coco128')


def test_present_data_is_found(monkeypatch, tmp_path):
    (tmp_path / 'coco128').mkdir()
    monkeypatch.setenv('CAE_MM_DATA', str(tmp_path))
    monkeypatch.setenv('CI', 'true')
    assert require_data_set('coco128') == tmp_path / 'coco128'
