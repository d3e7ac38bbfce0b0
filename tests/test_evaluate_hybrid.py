"""The Nef-Net protocol's evaluation: cycle scores by their definition, the personal-map and
best-training-map references."""

from __future__ import annotations

import numpy as np
import pytest

from hybridfield.cycles import CycleSet
from hybridfield.evaluate_hybrid import (
    _regression_prediction,
    best_training_map_reference,
    personal_map_reference,
    score_cycles,
)


def test_protocol_scores_follow_the_definition() -> None:
    rng = np.random.default_rng(0)
    n, length = 3, 64
    truth = rng.normal(size=(n, 2, length)).astype(np.float32)
    lengths = np.array([64, 50, 40])
    for k, size in enumerate(lengths):
        truth[k, :, size:] = 0
    cycles = CycleSet(
        inputs=truth[:, :1], input_angles=np.zeros((n, 1, 2), np.float32), targets=truth,
        target_angles=np.zeros((n, 2, 2), np.float32), physical=truth, regions=np.zeros((n, length), np.int8),
        lengths=lengths, record=np.arange(n), beat_minimum=np.full(n, -2.0, np.float32),
        beat_maximum=np.full(n, 3.0, np.float32), input_names=("I",), target_names=("V1", "V2"),
        record_names=("a", "b", "c"), source="real",
    )
    offset = 0.05
    prediction = truth + offset * (np.arange(length)[None, None, :] < lengths[:, None, None])
    scores = score_cycles(prediction, cycles)
    np.testing.assert_allclose(scores["rmse"], offset, rtol=1e-5)
    np.testing.assert_allclose(scores["psnr"], 20 * np.log10(5.0 / offset), rtol=1e-5)
    np.testing.assert_allclose(scores["r"], 1.0, atol=1e-6)


def _linear_map_cycles(maps: list[np.ndarray], cycles_per_record: int, seed: int):
    """Real-like cycles whose two targets are each record's own linear map of its two inputs.

    ``maps[r]`` is ``(2, 3)``: two targets from two inputs and an intercept, mV.
    """
    rng = np.random.default_rng(seed)
    n, length = len(maps) * cycles_per_record, 48
    lengths = rng.integers(30, length + 1, size=n)
    record = np.repeat(np.arange(len(maps)), cycles_per_record)
    inputs = np.zeros((n, 2, length), np.float32)
    targets = np.zeros((n, 2, length), np.float32)
    for k in range(n):
        size = lengths[k]
        inputs[k, :, :size] = rng.normal(size=(2, size))
        targets[k, :, :size] = maps[record[k]][:, :2] @ inputs[k, :, :size] + maps[record[k]][:, 2:]
    return CycleSet(
        inputs=inputs, input_angles=np.zeros((n, 2, 2), np.float32), targets=targets,
        target_angles=np.zeros((n, 2, 2), np.float32), physical=np.zeros_like(targets),
        regions=np.zeros((n, length), np.int8), lengths=lengths.astype(np.int64), record=record,
        beat_minimum=np.full(n, -10.0, np.float32), beat_maximum=np.full(n, 10.0, np.float32),
        input_names=("I", "II"), target_names=("V1", "V2"),
        record_names=tuple(f"r{r}" for r in range(len(maps))), source="real",
    )


def test_personal_map_reference_fits_each_record_on_its_other_cycles() -> None:
    rng = np.random.default_rng(1)
    maps = [rng.normal(size=(2, 3)) for _ in range(3)]
    cycles = _linear_map_cycles(maps, cycles_per_record=4, seed=2)
    mask = np.arange(cycles.targets.shape[2])[None, None, :] < cycles.lengths[:, None, None]
    personal = personal_map_reference(cycles, ["V1", "V2"])
    np.testing.assert_allclose(personal, cycles.targets, atol=1e-4)
    assert np.all(personal[~np.broadcast_to(mask, personal.shape)] == 0)
    # one map for everybody cannot do this: the maps differ between records
    pooled = _regression_prediction(cycles, cycles, ["V1", "V2"])
    assert np.abs(pooled - cycles.targets).max() > 0.5
    # the cycle predicted is left out of its own fit: an offset on its truth does not reach its prediction
    shifted = cycles.subset(np.arange(len(cycles)))
    shifted.targets[5, 0, : shifted.lengths[5]] += 0.3
    again = personal_map_reference(shifted, ["V1"])
    np.testing.assert_allclose(again[5, 0], cycles.targets[5, 0], atol=1e-4)
    assert np.abs(again[4, 0] - cycles.targets[4, 0]).max() > 1e-3  # the others do see it
    with pytest.raises(ValueError, match="not query views"):
        personal_map_reference(cycles, ["V3"])


def test_best_training_map_reference_recognises_the_matching_training_record() -> None:
    rng = np.random.default_rng(3)
    maps = [rng.normal(size=(2, 3)) for _ in range(4)]
    train = _linear_map_cycles(maps, cycles_per_record=3, seed=4)
    test = _linear_map_cycles([maps[2], maps[0]], cycles_per_record=2, seed=5)
    np.testing.assert_allclose(best_training_map_reference(train, test, ["V1", "V2"]), test.targets, atol=1e-4)
    # a record matching no training map gets the training map that scores best on it
    stranger = _linear_map_cycles([rng.normal(size=(2, 3))], cycles_per_record=2, seed=6)
    chosen = score_cycles(best_training_map_reference(train, stranger, ["V1", "V2"]), stranger)["psnr"].mean()
    candidates = [
        score_cycles(best_training_map_reference(train.subset(train.record == r), stranger, ["V1", "V2"]), stranger)["psnr"].mean()
        for r in range(4)
    ]
    assert chosen == pytest.approx(max(candidates), abs=1e-9)
    assert chosen > min(candidates) + 1.0
