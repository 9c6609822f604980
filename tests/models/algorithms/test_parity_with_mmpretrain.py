"""Parity with mmpretrain's own CAE: the same weights, images, tokenizer view and masks give the same numbers.

mmpretrain 1.2's ``CAE`` (``CAEPretrainViT`` + ``CAENeck`` + ``CAEHead`` + its ``DALL-E`` target generator) is built
from the installed package, with random weights; its DALL-E weights are written to a temporary file that mmpretrain
loads through its ``init_cfg`` and cae_mm's ``DALLETokenizer`` reads as its ``checkpoint`` (nothing is downloaded). Its
weights are converted with ``mmpretrain_to_cae_mm``; both models then see the same batch, in fp32, with drop path 0
(so train mode is deterministic), for mmpretrain's 75-masked setting and the paper's 98. Encoder latents, alignment
targets, regressor predictions, decoder logits, token ids and each loss must agree within 1e-5; the maximum absolute
differences are printed (run with ``-s``).

Where mmpretrain deliberately differs, the tests show it:

* **Stale alignment target.** mmpretrain encodes the alignment target with ``teacher``, a copy of the backbone that
  ``momentum_update`` (momentum 0) refreshes *after* computing the target, inside the same step, and before the
  optimizer step: the target of step ``t`` uses the weights of step ``t - 1``. cae_mm (like the official code, whose
  alignment encoder aliases the encoder's tensors) uses the current weights. After one optimizer step, mmpretrain's
  target differs from cae_mm's current-weight target and equals cae_mm's target computed with the previous weights.
  (On the first step both use the initial weights, which is why the first-step parity holds.)
* **The mask count is written twice** in mmpretrain (``BEiTMaskGenerator.num_masking_patches`` and
  ``CAENeck.mask_tokens_num``): a neck built for 75 fails on a batch masked with 98. cae_mm reads the count from the
  masks, so one model serves both.
"""

import copy
import time
from pathlib import Path

import pytest
import torch
from mmpretrain.structures import DataSample

from cae_mm.datasets import BlockwiseMaskGenerator
from cae_mm.registry import MODELS
from tools.model_converters.checkpoint_layouts import mmpretrain_to_cae_mm
from tests.models.algorithms.mmpretrain_cae import VOCAB_SIZE, build_mmpretrain_cae, cae_mm_config
from tests.models.targets.dalle_files import random_dalle_state_dict

TOLERANCE = 1e-5

SIZES = {
    # Seconds on a CPU: every code path of the full model, narrower and shallower.
    'small': dict(width=128, depth=4, heads=4, head_depth=2, tokenizer_hidden=16),
    # The paper's ViT-B/16 with 4 + 4 regressor/decoder blocks and OpenAI's DALL-E encoder size.
    'base': dict(width=768, depth=12, heads=12, head_depth=4, tokenizer_hidden=256),
}


def build_pair(size: str, num_masked: int, tmp_path: Path) -> tuple[torch.nn.Module, torch.nn.Module]:
    """mmpretrain's CAE with perturbed random weights, and cae_mm's CAE loaded from its converted state dict.

    Both read the same DALL-E weights file: mmpretrain through its ``init_cfg``, cae_mm as its tokenizer checkpoint.
    """
    settings = SIZES[size]
    tokenizer_file = tmp_path / 'dalle_encoder.pth'
    torch.save(random_dalle_state_dict(settings['tokenizer_hidden']), tokenizer_file)
    reference = build_mmpretrain_cae(**settings, num_masked=num_masked, tokenizer_file=tokenizer_file)
    ours = MODELS.build(cae_mm_config(**settings, tokenizer_file=tokenizer_file))
    ours.load_state_dict(mmpretrain_to_cae_mm(reference.state_dict()))
    return reference, ours


def batch(num_masked: int, batch_size: int = 2, seed: int = 3) -> tuple[list[torch.Tensor], list[DataSample]]:
    """Model view (224 px, normalised), DALL-E view (112 px after map_pixels) and block-wise masks."""
    generator = torch.Generator().manual_seed(seed)
    images = torch.randn(batch_size, 3, 224, 224, generator=generator)
    target_view = 0.1 + 0.8 * torch.rand(batch_size, 3, 112, 112, generator=generator)
    mask_generator = BlockwiseMaskGenerator(num_masked, patch_size=16, min_patches_per_block=16)
    samples = [DataSample().set_mask(torch.from_numpy(mask_generator.generate((14, 14)))) for _ in range(batch_size)]
    return [images, target_view], samples


class Recorder:
    """Keeps the outputs of modules (forward hooks) and the results of wrapped methods, call by call."""

    def __init__(self) -> None:
        self.outputs: dict[str, list] = {}
        self.handles = []

    def hook(self, name: str, module: torch.nn.Module) -> None:
        self.handles.append(
            module.register_forward_hook(lambda _, __, output: self.outputs.setdefault(name, []).append(output))
        )

    def wrap(self, name: str, owner: object, method: str) -> None:
        original = getattr(owner, method)

        def recorded(*args, **kwargs):
            result = original(*args, **kwargs)
            self.outputs.setdefault(name, []).append(result)
            return result

        setattr(owner, method, recorded)

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()


def run_reference(reference: torch.nn.Module, inputs, samples) -> tuple[dict, Recorder]:
    recorder = Recorder()
    for name in ('backbone', 'teacher', 'neck', 'target_generator'):
        recorder.hook(name, getattr(reference, name))
    losses = reference.loss(inputs, samples)
    recorder.remove()
    return losses, recorder


def run_ours(ours: torch.nn.Module, inputs, samples) -> tuple[dict, Recorder]:
    recorder = Recorder()
    recorder.wrap('forward_encoder', ours.backbone, 'forward_encoder')
    for name in ('neck', 'head', 'target_generator'):
        recorder.hook(name, getattr(ours, name))
    losses = ours.loss(inputs, samples)
    recorder.remove()
    del ours.backbone.forward_encoder  # drop the wrapper: back to the class's method
    return losses, recorder


def max_abs_difference(first: torch.Tensor, second: torch.Tensor) -> float:
    assert first.shape == second.shape, f'{tuple(first.shape)} vs {tuple(second.shape)}'
    return float((first.detach().double() - second.detach().double()).abs().max())


def compare(reference: torch.nn.Module, ours: torch.nn.Module, num_masked: int) -> dict[str, float]:
    """Run one training forward of both models on the same batch; return the max abs difference per tensor."""
    inputs, samples = batch(num_masked)
    mask = torch.stack([sample.mask for sample in samples]).flatten(1)  # (B, 196)
    reference_losses, reference_record = run_reference(reference, inputs, samples)
    our_losses, our_record = run_ours(ours, inputs, samples)
    logits, latent_pred = reference_record.outputs['neck'][0]
    reference_ids = reference_record.outputs['target_generator'][0].argmax(1).flatten(1)[mask].view(len(samples), -1)
    our_visible, our_masked = our_record.outputs['forward_encoder']
    our_ids = our_record.outputs['target_generator'][0]
    assert our_ids.shape == (len(samples), num_masked)
    assert torch.equal(our_ids, reference_ids), 'DALL-E token ids differ'
    return {
        'encoder latents (cls + visible)': max_abs_difference(reference_record.outputs['backbone'][0], our_visible),
        'alignment targets (masked)': max_abs_difference(
            reference_record.outputs['teacher'][0][:, 1:], our_masked[:, 1:]
        ),
        'regressor predictions': max_abs_difference(latent_pred, our_record.outputs['neck'][0]),
        'decoder logits': max_abs_difference(logits, our_record.outputs['head'][0]),
        'reconstruction loss': max_abs_difference(reference_losses['main'], our_losses['loss_reconstruction']),
        'alignment loss (x2)': max_abs_difference(reference_losses['align'], our_losses['loss_alignment']),
        'total loss': max_abs_difference(reference_losses['loss'], sum(our_losses.values())),
    }


def report(title: str, differences: dict[str, float]) -> None:
    print(f'\n{title}: max abs difference, mmpretrain vs cae_mm (fp32)')
    for name, difference in differences.items():
        print(f'  {name:34s} {difference:.3e}')


@pytest.mark.parametrize('num_masked', [75, 98])
def test_small_model_matches_mmpretrain(num_masked, tmp_path):
    """Every intermediate tensor and loss of a converted mmpretrain CAE is reproduced within 1e-5; token ids exactly."""
    reference, ours = build_pair('small', num_masked, tmp_path)
    differences = compare(reference, ours, num_masked)
    report(f'small model, {num_masked} of 196 masked', differences)
    assert all(difference <= TOLERANCE for difference in differences.values()), differences


@pytest.mark.slow
def test_vit_base_matches_mmpretrain(tmp_path):
    """The same at the paper's size: ViT-B/16, 4 + 4 blocks, a full-width DALL-E encoder (8192 tokens), 75 and 98."""
    started = time.perf_counter()
    reference, ours = build_pair('base', 75, tmp_path)
    for num_masked in (75, 98):
        # mmpretrain's second copy of the mask count; cae_mm reads it from the masks.
        reference.neck.mask_token_num = num_masked
        differences = compare(reference, ours, num_masked)
        report(f'ViT-B/16, {num_masked} of 196 masked ({time.perf_counter() - started:.0f} s so far)', differences)
        assert all(difference <= TOLERANCE for difference in differences.values()), differences


def alignment_targets(
    reference: torch.nn.Module, ours_models: list[torch.nn.Module], inputs, samples
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """mmpretrain's alignment target inside its training step, and cae_mm's for each given model."""
    _, reference_record = run_reference(reference, inputs, samples)
    ours_targets = []
    for ours in ours_models:
        _, our_record = run_ours(ours, inputs, samples)
        ours_targets.append(our_record.outputs['forward_encoder'][1][:, 1:])
    return reference_record.outputs['teacher'][0][:, 1:], ours_targets


def test_mmpretrain_alignment_target_is_one_step_stale(tmp_path):
    """After an optimizer step, mmpretrain's target equals cae_mm's with the previous weights, not the current ones.

    mmpretrain's ``teacher`` is refreshed from the backbone inside the step, after the target is computed and before the
    optimizer changes the backbone; cae_mm encodes the target with the current encoder (as the official code does).
    """
    reference, ours_before_step = build_pair('small', 75, tmp_path)
    inputs, samples = batch(75)
    optimizer = torch.optim.SGD([p for p in reference.parameters() if p.requires_grad], lr=0.05)
    optimizer.zero_grad()
    reference.loss(inputs, samples)['loss'].backward()
    optimizer.step()

    ours_after_step = copy.deepcopy(ours_before_step)
    ours_after_step.load_state_dict(mmpretrain_to_cae_mm(reference.state_dict()))
    next_inputs, next_samples = batch(75, seed=4)
    reference_target, (current, previous) = alignment_targets(
        reference, [ours_after_step, ours_before_step], next_inputs, next_samples
    )
    differences = {
        'mmpretrain target vs cae_mm, current weights': max_abs_difference(reference_target, current),
        'mmpretrain target vs cae_mm, previous weights': max_abs_difference(reference_target, previous),
    }
    report('alignment target after one SGD step', differences)
    assert differences['mmpretrain target vs cae_mm, current weights'] > 100 * TOLERANCE
    assert differences['mmpretrain target vs cae_mm, previous weights'] <= TOLERANCE
    # Refreshing its teacher inside that step brought mmpretrain up to date: with no optimizer step in between, the
    # next step agrees with cae_mm again in every tensor.
    step_differences = compare(reference, ours_after_step, 75)
    report('the step after, teacher refreshed', step_differences)
    assert all(difference <= TOLERANCE for difference in step_differences.values()), step_differences


def test_mask_count_is_written_twice_in_mmpretrain_and_once_in_cae_mm(tmp_path):
    """mmpretrain's neck built for 75 masked patches fails on 98; one cae_mm model takes both counts from the masks."""
    reference, ours = build_pair('small', 75, tmp_path)
    inputs, samples = batch(98)
    with pytest.raises(RuntimeError):
        reference.loss(inputs, samples)
    for num_masked in (75, 98):
        inputs, samples = batch(num_masked)
        losses, record = run_ours(ours, inputs, samples)
        assert record.outputs['head'][0].shape == (2, num_masked, VOCAB_SIZE)
        assert all(torch.isfinite(loss) for loss in losses.values())
