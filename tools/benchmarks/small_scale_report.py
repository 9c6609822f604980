"""Render docs/small_scale.md and its PNG curves from the small-scale benchmark's result JSON files.

Used by ``python tools/benchmarks/small_scale.py report``; every number in the page comes from a file under
``docs/small_scale/results/``, and every missing result is listed with the command that produces it.
"""

import json
import statistics
from pathlib import Path

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402

METHODS = ('cae', 'cae_lambda0', 'mae', 'random')
METHOD_NAMES = {
    'cae': 'CAE (λ = 2)',
    'cae_lambda0': 'CAE, no alignment (λ = 0)',
    'mae': 'MAE (mmpretrain)',
    'random': 'random init',
}
COLUMNS = (  # (step, key, header, scale)
    ('knn', 'knn_cls', 'k-NN cls', 1),
    ('knn', 'knn_mean', 'k-NN mean-pool', 1),
    ('linear', 'linear_cls', 'linear cls', 1),
    ('linear', 'linear_mean', 'linear mean-pool', 1),
    ('attentive', 'attentive', 'attentive', 1),
    ('finetune', 'accuracy/top1', 'fine-tune', 1),
    ('knn', 'rank_patch', 'eff. rank patches', 1),
    ('knn', 'rank_cls', 'eff. rank cls', 1),
)
TRANSFER_COLUMNS = (
    ('mask_rcnn', 'coco/bbox_mAP', 'Mask R-CNN box AP', 100),
    ('mask_rcnn', 'coco/bbox_mAP_50', 'box AP50', 100),
    ('mask_rcnn', 'coco/segm_mAP', 'mask AP', 100),
    ('mask_rcnn', 'coco/segm_mAP_50', 'mask AP50', 100),
    ('vitdet', 'coco/bbox_mAP', 'ViTDet box AP', 100),
    ('vitdet', 'coco/segm_mAP', 'ViTDet mask AP', 100),
    ('upernet', 'mIoU', 'UperNet mIoU', 1),
    ('upernet', 'aAcc', 'aAcc', 1),
)
STEPS = ('knn', 'linear', 'attentive', 'finetune', 'mask_rcnn', 'upernet', 'vitdet')
SEEDS = (0, 1, 2)


def _load(folder: Path) -> list[dict]:
    return [json.loads(path.read_text()) for path in sorted(folder.glob('*.json'))] if folder.is_dir() else []


def _mean_std(values: list[float]) -> str:
    if not values:
        return 'to run'
    if len(values) == 1:
        return f'{values[0]:.1f} (1 seed)'
    return f'{statistics.mean(values):.1f} ± {statistics.stdev(values):.1f} ({len(values)} seeds)'


def _search_section(results: Path, pictures: Path) -> list[str]:
    runs = _load(results / 'search')
    lengths = (
        ' or '.join(
            f'{iters} iterations of 64 photos (about {iters * 64 / 5000:.1f} epochs)'
            for iters in sorted({run['iters'] for run in runs})
        )
        or 'short runs'
    )
    lines = [
        '## Collapse search',
        '',
        'Short CAE runs (`python tools/benchmarks/small_scale.py search RECIPE`): the benchmark CAE config with one '
        f'recipe change each, {lengths}, seed 0, bf16 autocast. '
        '"rank (train batch)" is the `FeatureRankHook` value on its fixed batch of 64 augmented training photos '
        'at the last iteration; the random encoder scores 28.5 there. The k-NN uses 1,000 training photos '
        '(100 a class) and the 500 held-out ones; "rank val" is the effective rank of the 32,000 held-out patch '
        'tokens.',
        '',
    ]
    if not runs:
        return lines + ['No recipe has finished yet.', '']
    lines += [
        '| recipe | change | rank (train batch) | rank val patches | rank val cls | k-NN cls | k-NN mean-pool | '
        'last reconstruction loss | training time |',
        '|---|---|---|---|---|---|---|---|---|',
    ]
    figure, axis = plt.subplots(figsize=(7, 4))
    for run in runs:
        last_rank = f'{run["rank_curve"][-1]["rank_patch"]:.1f}' if run['rank_curve'] else '28.5 (iter 0)'
        last_loss = f'{run["loss_curve"][-1]["loss_reconstruction"]:.3f}' if run['loss_curve'] else '—'
        training_time = f'{run["train_seconds"] / 60:.0f} min' if 'train_seconds' in run else '—'
        lines.append(
            f'| `{run["recipe"]}` | {run["description"]} | {last_rank} | {run["rank_patch"]:.1f} | '
            f'{run["rank_cls"]:.1f} | {run["knn_cls"]:.1f} | {run["knn_mean"]:.1f} | {last_loss} | '
            f'{training_time} |'
        )
        if run['rank_curve']:
            axis.plot(
                [record['iter'] for record in run['rank_curve']],
                [record['rank_patch'] for record in run['rank_curve']],
                marker='o',
                label=run['recipe'],
            )
    axis.set_xlabel('iteration')
    axis.set_ylabel('effective rank of patch tokens')
    axis.set_title('Feature rank during the collapse search (fixed batch)')
    axis.legend()
    figure.tight_layout()
    figure.savefig(pictures / 'search_rank_curves.png', dpi=100)
    plt.close(figure)
    return lines + ['', '![rank curves](small_scale/search_rank_curves.png)', '']


def _benchmark_section(results: Path, pictures: Path) -> list[str]:
    evaluations = {step: {(run['method'], run['seed']): run for run in _load(results / step)} for step in STEPS}
    lines = []
    for title, columns in (
        ('Benchmark: tiny_imagenet_10 held-out photos (500, 10 classes), top-1 %', COLUMNS),
        ('Transfer: coco128 val (28 photos) with CocoMetric, coco128_semseg val with IoUMetric', TRANSFER_COLUMNS),
    ):
        lines += [
            f'## {title}',
            '',
            'Mean ± standard deviation over pretraining seeds; "to run" where no seed has finished.',
            '',
            '| method | ' + ' | '.join(column[2] for column in columns) + ' |',
            '|---|' + '---|' * len(columns),
        ]
        for method in METHODS:
            cells = []
            for step, key, _, scale in columns:
                if step == 'vitdet' and not method.startswith('cae'):
                    cells.append('—')
                    continue
                cells.append(
                    _mean_std([run[key] * scale for (name, _), run in evaluations[step].items() if name == method])
                )
            lines.append(f'| {METHOD_NAMES[method]} | ' + ' | '.join(cells) + ' |')
        lines.append('')
    pretraining = _load(results / 'pretrain')
    if pretraining:
        figure, (loss_axis, rank_axis) = plt.subplots(1, 2, figsize=(11, 4))
        for run in pretraining:
            label = f'{run["method"]} seed {run["seed"]}'
            loss_axis.plot([r['iter'] for r in run['loss_curve']], [r['loss'] for r in run['loss_curve']], label=label)
            rank_axis.plot(
                [r['iter'] for r in run['rank_curve']], [r['rank_patch'] for r in run['rank_curve']], label=label
            )
        loss_axis.set(xlabel='iteration', ylabel='training loss', title='Pretraining loss')
        rank_axis.set(xlabel='iteration', ylabel='effective rank', title='Patch-feature rank (fixed batch)')
        loss_axis.legend()
        figure.tight_layout()
        figure.savefig(pictures / 'pretraining_curves.png', dpi=100)
        plt.close(figure)
        lines += ['', '![pretraining curves](small_scale/pretraining_curves.png)']
        releases = {(run['method'], run['seed']): run for run in _load(results / 'publish')}
        lines += [
            '',
            'Releases: `python tools/benchmarks/small_scale.py publish METHOD SEED` (tools/publish_model.py, '
            'full model; the files stay out of git).',
            '',
            '| run | wall | run of | checkpoint sha256 | release (sha256) |',
            '|---|---|---|---|---|',
        ]
        for run in pretraining:
            release = releases.get((run['method'], run['seed']))
            lines.append(
                f'| {run["method"]} seed {run["seed"]} | {run["wall_s"] / 60:.0f} min | '
                f'{"search `" + run["adopted_from_search"] + "`" if "adopted_from_search" in run else "pretrain"}'
                f' | `{run["checkpoint_sha256"]}` | '
                + (f'`{release["release"]}` (`{release["sha256"]}`) |' if release else '— |')
            )
    probe_runs = [run for step in ('linear', 'attentive') for run in evaluations[step].values()]
    if probe_runs:
        figure, axis = plt.subplots(figsize=(7, 4))
        for run in probe_runs:
            for key in ('curve', 'curve_cls', 'curve_mean'):
                if key in run:
                    axis.plot(
                        range(1, len(run[key]) + 1),
                        run[key],
                        label=f'{run["method"]} s{run["seed"]} {key.replace("curve", "attentive" if key == "curve" else "linear")}',
                    )
        axis.set(xlabel='probe epoch', ylabel='held-out top-1 (%)', title='Probe curves')
        axis.legend(fontsize=6)
        figure.tight_layout()
        figure.savefig(pictures / 'probe_curves.png', dpi=100)
        plt.close(figure)
        lines += ['', '![probe curves](small_scale/probe_curves.png)']
    missing = []
    for seed in SEEDS:
        for method in METHODS:
            if method != 'random' and not (results / 'pretrain' / f'{method}_seed{seed}.json').exists():
                missing.append(f'nice -n 10 python tools/benchmarks/small_scale.py pretrain {method} {seed}')
            for step in STEPS:
                if step == 'vitdet' and not method.startswith('cae'):
                    continue
                if (method, seed) not in evaluations[step]:
                    missing.append(f'python tools/benchmarks/small_scale.py {step} {method} {seed}')
    lines += ['', '### To run', '']
    lines += (
        [
            'Every step below is still missing (or run them all, skipping finished ones: '
            '`nice -n 10 python tools/benchmarks/small_scale.py all --seeds 0 1 2`):',
            '',
            '```bash',
            *missing,
            '```',
        ]
        if missing
        else ['Nothing: every method, seed and evaluation has finished.']
    )
    return lines + ['']


def write_report(results: Path, output: Path, pictures: Path, preamble: str = '', epilogue: str = '') -> None:
    """Write the markdown page ``output`` and its PNGs under ``pictures`` from the JSON files under ``results``.

    Args:
        results: the benchmark's results folder (``pretrain/``, ``knn/``, ``linear/``, ``attentive/``, ``search/``).
        output: the markdown file.
        pictures: the folder of the PNG curves (linked relative to ``output``'s folder).
        preamble: markdown placed before the generated sections.
        epilogue: markdown placed after them.
    """
    pictures.mkdir(parents=True, exist_ok=True)
    lines = [preamble.rstrip(), ''] if preamble else []
    lines += _search_section(results, pictures) + _benchmark_section(results, pictures)
    if epilogue:
        lines += [epilogue.rstrip(), '']
    output.write_text('\n'.join(lines))
