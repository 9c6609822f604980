"""The model zoo: metafiles that list every config family and config, and README tables generated from them."""

from pathlib import Path

import pytest
import yaml
from mmengine.config import Config

from tests.conftest import CONFIG_ROOT, REPO_ROOT
from tests.tools.tool_loading import load_tool

MODEL_INDEX = REPO_ROOT / 'model-index.yml'


def generator():
    return load_tool('generate_model_zoo.py')


def listed_models() -> list[dict]:
    return [model for metafile in generator().load_metafiles(MODEL_INDEX) for model in metafile['Models']]


def test_readme_table_is_what_the_generator_renders():
    """README.md between the markers equals the rendering of the metafiles (run tools/generate_model_zoo.py)."""
    tool = generator()
    readme = (REPO_ROOT / 'README.md').read_text()
    assert tool.replace_between_markers(readme, tool.render_model_zoo(MODEL_INDEX)) == readme
    assert tool.main(['--check']) == 0


def test_every_family_and_every_full_size_config_is_listed():
    """Each config folder has a metafile imported by model-index.yml, listing every config but the tiny test twins."""
    imports = yaml.safe_load(MODEL_INDEX.read_text())['Import']
    families = sorted(path.name for path in CONFIG_ROOT.iterdir() if path.is_dir() and path.name != '_base_')
    assert sorted(Path(path).parent.name for path in imports) == families
    listed = {model['Config'] for model in listed_models()}
    expected = {
        str(path.relative_to(REPO_ROOT))
        for family in families
        for path in (CONFIG_ROOT / family).glob('*.py')
        if not path.stem.endswith('_test')
    }
    assert expected - listed == set(), 'add these configs to their metafile.yml'
    assert listed - expected == set()


def test_names_match_configs_and_no_weights_are_claimed():
    """Each model is named after its config and loads; no download link exists while nothing is released."""
    for model in listed_models():
        assert Path(model['Config']).stem == model['Name']
        Config.fromfile(REPO_ROOT / model['Config'])
        assert model['Weights'] is None


def test_measured_results_cite_their_evidence_and_paper_numbers_stay_apart():
    """Measured numbers appear in their evidence document; the paper's sit under 'Paper Results' only."""
    for model in listed_models():
        for result in model.get('Results') or []:
            evidence = (REPO_ROOT / result['Evidence']).read_text()
            for value in result['Metrics'].values():
                assert str(value) in evidence, (model['Name'], value)
        for result in model.get('Paper Results') or []:
            assert 'Evidence' not in result


def test_check_fails_on_a_stale_readme_and_write_fixes_it(tmp_path):
    tool = generator()
    readme = tmp_path / 'README.md'
    readme.write_text(f'# title\n\n{tool.START_MARKER}\nold table\n{tool.END_MARKER}\n\n## next\n')
    assert tool.main(['--readme', str(readme), '--check']) == 1
    assert tool.main(['--readme', str(readme)]) == 0
    text = readme.read_text()
    assert 'old table' not in text and text.startswith('# title\n') and text.endswith('\n## next\n')
    assert tool.main(['--readme', str(readme), '--check']) == 0


def test_broken_metafiles_are_reported(tmp_path):
    """A missing config, an unknown collection and a result without evidence are all named."""
    (tmp_path / 'model-index.yml').write_text('Import:\n  - family/metafile.yml\n')
    (tmp_path / 'family').mkdir()
    (tmp_path / 'family' / 'metafile.yml').write_text(
        yaml.safe_dump(
            dict(
                Collections=[dict(Name='Family')],
                Models=[
                    dict(
                        Name='a',
                        Config='family/a.py',
                        Metadata=dict(Epochs=1),
                        Weights=None,
                        **{'In Collection': 'X'},
                        Results=[dict(Task='t', Dataset='d', Metrics=dict(Top=1.0))],
                    )
                ],
            )
        )
    )
    tool = generator()
    with pytest.raises(tool.ModelZooError) as error:
        tool.render_model_zoo(tmp_path / 'model-index.yml')
    message = str(error.value)
    assert 'unknown collection' in message and 'family/a.py, which does not exist' in message
    assert 'needs an Evidence document' in message


def test_readme_without_markers_is_refused():
    tool = generator()
    with pytest.raises(tool.ModelZooError, match='needs exactly one'):
        tool.replace_between_markers('# no markers\n', 'table\n')
