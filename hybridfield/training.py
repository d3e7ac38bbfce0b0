"""Training the hybrid network: losses, the linear path's closed-form start, prediction of cycles.

:func:`train_hybrid` trains a hybrid :class:`~hybridfield.nefnet.NefNet` on
:class:`~hybridfield.cycles.CycleSet` s with fixed seeds and progress lines: scaled MAE plus the
Standin loss plus a small penalty on the residual, AdamW with a one-cycle schedule. Before it,
:func:`fit_linear_path` fits the residual's linear path in closed form (ridge per parameter
block). :func:`predict_cycles` predicts every query view of every cycle. With one measured limb
lead, limb views are trained and predicted through the identity-keeping fit over all six limb
leads (:func:`hybridfield.leads.limb_residual_directions`), as
:meth:`hybridfield.HybridPanorama.predict` predicts them.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .cycles import CycleSet
from .leads import LIMB_LEADS, input_combinations, limb_plane_coordinates, limb_residual_directions

__all__ = [
    "train_hybrid",
    "hybrid_loss",
    "cycle_batch",
    "limb_completion",
    "LimbCompletion",
    "fit_linear_path",
    "predict_cycles",
    "LINEAR_RIDGE",
    "PHYSICS_GAIN_RIDGE",
    "HEART_VECTOR_RIDGE",
    "REAL_CYCLE_WEIGHT",
]

#: Default ridges of the linear path's closed-form start, each relative to the mean diagonal of
#: its block of the normal matrix (README, "the linear path"): the per-pair weights, free between
#: the trained views, are held small; the physics gain and the heart-vector correction, which
#: change with the view smoothly, are fitted almost freely.
LINEAR_RIDGE = 1.0
PHYSICS_GAIN_RIDGE = 1e-3
HEART_VECTOR_RIDGE = 1e-6
# Weight of a real cycle against a simulated one in the linear path's closed-form fit. The
# simulated views hold the path between the trained views, but the torso model's leads differ
# from real ones (physics alone keeps 0.19 of the real V6 amplitude variance across records), so
# at equal weight the fit settles between the two and shrinks the real amplitudes; 3 keeps the
# V4 and V6 amplitude spread at least the regression's (hybridfield.evaluate_hybrid,
# reconstruction setting), at some cost to the views never trained on (README).
REAL_CYCLE_WEIGHT = 3.0


# ----------------------------------------------------------------------------------------------
# Training
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LimbCompletion:
    """The six limb leads of a cycle set whose inputs hold exactly one limb lead.

    The identity-keeping limb residual (:func:`limb_residual_directions`) is fitted over all six
    limb leads, as :meth:`HybridPanorama.predict` does, also when the set holds fewer (a
    training set without the held-out I, a random subset of views per step).

    Attributes
    ----------
    angles : (6, 2) float32, radians
        Nef-Net angles of I, II, III, aVR, aVL, aVF.
    directions : (6,) float
        Their :func:`limb_residual_directions`.
    exact : (6,) bool
        Those that are combinations of the inputs (the measured lead).
    from_views : (6, n_views) float
        Each limb lead's physical projection as a combination of the set's query views' ...
    from_inputs : (6, n_inputs) float
        ... and inputs': the projection keeps the identities with the measured lead
        (:func:`identity_weights`), so the measured lead and any other limb lead fix all six.
    view_directions : (n_views,) float
        :func:`limb_residual_directions` of the set's own query views.
    """

    angles: np.ndarray
    directions: np.ndarray
    exact: np.ndarray
    from_views: np.ndarray
    from_inputs: np.ndarray
    view_directions: np.ndarray


def limb_completion(cycles: CycleSet) -> LimbCompletion | None:
    """The six limb leads' completion of a cycle set's query views, for :func:`cycle_batch`.

    It depends on the set's lead names only (inputs and query views), not on its cycles, so a
    set of one batch of cycles from a store gives the same completion as the whole store.

    Parameters
    ----------
    cycles : CycleSet
        The cycles whose query views are trained or predicted.

    Returns
    -------
    completion : LimbCompletion or None
        None when no query view carries a limb residual (the inputs hold no single limb lead).
    """
    from geometry import STANDARD_LEAD_ANGLES

    view_directions = cycles.limb_directions
    if not view_directions.any():
        return None
    named = cycles.named_views
    coordinates = np.vstack([limb_plane_coordinates(named), limb_plane_coordinates(cycles.input_names)])
    in_plane = np.abs(coordinates).sum(axis=1) > 0
    # (a, b) of I and II for each limb lead in the set, then every limb lead from those (rank 2:
    # the measured lead and a view with a nonzero direction are independent)
    mapping = np.zeros((len(LIMB_LEADS), len(coordinates)))
    mapping[:, in_plane] = limb_plane_coordinates(LIMB_LEADS) @ np.linalg.pinv(coordinates[in_plane])
    return LimbCompletion(
        angles=np.array([STANDARD_LEAD_ANGLES[name] for name in LIMB_LEADS], dtype=np.float32),
        directions=limb_residual_directions(LIMB_LEADS, cycles.input_names),
        exact=input_combinations(LIMB_LEADS, cycles.input_names).any(axis=1),
        from_views=mapping[:, : len(named)],
        from_inputs=mapping[:, len(named) :],
        view_directions=view_directions,
    )


def cycle_batch(
    cycles: CycleSet, index: np.ndarray, views: np.ndarray | None = None, completion: LimbCompletion | None = None
) -> dict[str, Any]:
    """A training or prediction batch of cycles as torch tensors (what :func:`hybrid_loss` takes).

    Parameters
    ----------
    cycles : CycleSet
        The cycles.
    index : (n,) int array
        Cycles of the batch.
    views : (q,) int array, optional
        Query views of the batch (default: all).
    completion : LimbCompletion, optional
        :func:`limb_completion` of ``cycles``: the six limb leads ride along as extra queries so
        the limb views are trained and predicted through the identity-keeping fit.

    Returns
    -------
    batch : dict of str to torch.Tensor
        ``signals`` (n, n_inputs, length) mV, ``angles`` (n, n_inputs, 2) rad, ``query_angles``
        (n, q, 2) rad, ``regions`` (n, length), ``lengths`` (n,) samples, ``physical`` and
        ``targets`` (n, q, length) mV, ``exact`` (q,) bool; with a completion also
        ``limb_query_angles``, ``limb_physical``, ``limb_exact``, ``limb_directions`` and
        ``view_directions``.
    """
    import torch

    exact = cycles.exact_views if views is None else cycles.exact_views[views]

    def pick(array: np.ndarray) -> Any:
        chosen = array[index] if views is None else array[index][:, views]
        return torch.from_numpy(np.ascontiguousarray(chosen))

    batch = {
        "signals": torch.from_numpy(np.ascontiguousarray(cycles.inputs[index])),
        "angles": torch.from_numpy(np.ascontiguousarray(cycles.input_angles[index])),
        "query_angles": pick(cycles.target_angles),
        "regions": torch.from_numpy(np.ascontiguousarray(cycles.regions[index]).astype(np.int64)),
        "lengths": torch.from_numpy(np.ascontiguousarray(cycles.lengths[index])),
        "physical": pick(cycles.physical),
        "targets": pick(cycles.targets),
        "exact": torch.from_numpy(np.ascontiguousarray(exact)),
    }
    view_directions = None
    if completion is not None:
        view_directions = completion.view_directions if views is None else completion.view_directions[views]
    if view_directions is not None and view_directions.any():
        # the six limb leads ride along as extra queries; their physical projection from the
        # set's own (over all views, whichever were picked) and the inputs
        limb_physical = np.einsum("uv,nvt->nut", completion.from_views, cycles.physical[index]) + np.einsum(
            "uk,nkt->nut", completion.from_inputs, cycles.inputs[index]
        )
        batch.update(
            limb_query_angles=torch.from_numpy(np.broadcast_to(completion.angles, (len(index), *completion.angles.shape)).copy()),
            limb_physical=torch.from_numpy(limb_physical.astype(np.float32)),
            limb_exact=torch.from_numpy(completion.exact),
            limb_directions=torch.from_numpy(completion.directions.astype(np.float32)),
            view_directions=torch.from_numpy(view_directions.astype(np.float32)),
        )
    return batch


def _network_prediction(network: Any, batch: Mapping[str, Any], *, standin: bool = False) -> tuple[Any, Any, Any]:
    """The network's prediction of a batch's query views.

    With the six limb leads in the batch (:func:`cycle_batch` with a :class:`LimbCompletion`), the
    limb views' residuals are replaced by ``beta_v rho(t)``, ``rho`` fitted over the six
    (:func:`hybridfield.leads.project_limb_residuals`), so training, evaluation and :meth:`HybridPanorama.predict`
    keep the limb identities the same way.

    Returns
    -------
    prediction : (n, q, length) tensor, mV
    standin_pair : tuple of two tensors or None
        The Standin pair of the query views (only with ``standin``).
    removed : (n, n_limb_views, length) tensor or None
        What the identity fit removes from the network's own residuals of the limb views among
        the query views (None without any).
    """
    import torch

    query, physical, exact = batch["query_angles"], batch["physical"], batch.get("exact")
    completed = "limb_physical" in batch
    if completed:
        query = torch.cat([query, batch["limb_query_angles"]], dim=1)
        physical = torch.cat([physical, batch["limb_physical"]], dim=1)
        exact = torch.cat([exact, batch["limb_exact"]])
    output = network(
        batch["signals"], batch["angles"], query, batch["regions"], batch["lengths"], physical, exact=exact, standin=standin
    )
    prediction, standin_pair = (output[0], output[1:]) if standin else (output, None)
    if not completed:
        return prediction, standin_pair, None
    n_views = batch["query_angles"].shape[1]
    directions = batch["limb_directions"]
    limb_residual = prediction[:, n_views:] - batch["limb_physical"]
    rho = torch.einsum("u,nut->nt", directions, limb_residual) / (directions @ directions)
    view_directions = batch["view_directions"]
    on_limb = view_directions != 0
    projected = batch["physical"] + view_directions[None, :, None] * rho[:, None, :]
    removed = (prediction[:, :n_views] - projected)[:, on_limb] if on_limb.any() else None
    prediction = torch.where(on_limb[None, :, None], projected, prediction[:, :n_views])
    if standin:
        standin_pair = tuple(half[:, :n_views] for half in standin_pair)
    return prediction, standin_pair, removed


def hybrid_loss(network: Any, batch: Mapping[str, Any], standin_weight: float, residual_weight: float) -> tuple[Any, float]:
    """Scaled MAE + Standin loss + L1 penalty on the residual: :func:`train_hybrid`'s loss.

    With the six limb leads in the batch, the MAE is that of the identity-keeping prediction, and
    what the identity fit removes from the network's own residuals of the batch's limb views is
    added as a scaled mean absolute value, so the field at the trained limb angles stays tied to
    their targets (for squared errors the two terms sum to the per-view error, the true
    residuals keeping the identities). A limb lead that is never a target (Nef-Net's held-out
    I) is constrained only through the identity fit.

    Parameters
    ----------
    network : NefNet or torch.nn.Module
        A hybrid network, or a wrapper whose call is the network's (DistributedDataParallel).
    batch : mapping
        :func:`cycle_batch`.
    standin_weight, residual_weight : float
        Weights of the Standin loss and of the residual penalty.

    Returns
    -------
    loss : torch.Tensor
        Scalar, differentiable.
    mae : float
        The scaled mean absolute error (each cycle divided by its largest input amplitude).
    """
    import torch

    from .nefnet import SCALE_FLOOR_MV

    prediction, (single, averaged), removed = _network_prediction(network, batch, standin=True)
    length = prediction.shape[-1]
    mask = (torch.arange(length, device=prediction.device)[None, :] < batch["lengths"][:, None]).to(prediction.dtype)[:, None, :]
    scale = batch["signals"].abs().amax(dim=(1, 2)).clamp(min=SCALE_FLOOR_MV)[:, None, None]
    count = mask.sum() * prediction.shape[1]
    mae = ((prediction - batch["targets"]).abs() / scale * mask).sum() / count
    residual = ((prediction - batch["physical"]).abs() / scale * mask).sum() / count
    standin = (single - averaged).abs().mean()
    loss = mae + standin_weight * standin + residual_weight * residual
    if removed is not None:
        loss = loss + (removed.abs() / scale * mask).sum() / (mask.sum() * removed.shape[1])
    return loss, float(mae.detach())


# the names these helpers had before they were public (tests and older callers import them)
_limb_completion = limb_completion
_tensors = cycle_batch
_loss = hybrid_loss


def fit_linear_path(
    network: Any,
    cycles: CycleSet | Sequence[CycleSet],
    *,
    ridge: float = LINEAR_RIDGE,
    gain_ridge: float = PHYSICS_GAIN_RIDGE,
    heart_vector_ridge: float = HEART_VECTOR_RIDGE,
    real_weight: float = REAL_CYCLE_WEIGHT,
    limb_identities: bool = False,
    batch_size: int = 16,
) -> float:
    """Closed-form least-squares start of a hybrid network's linear residual path (in place).

    The linear path is ``sum_i [w(query, input_i) + u(query) . m(input_i)] x_i(t) + g(query) p(t)``,
    with ``w``, ``m`` and ``g`` MLPs of the Angular Encodings and ``u`` the query's unit view
    direction (the ``u . m`` term only with ``config.heart_vector_path``). With their hidden layers
    fixed, the output is linear in the last layers' weights and biases, so the scaled squared error
    of ``physics + linear path`` against the targets (each cycle divided by its largest input
    amplitude, as in training) has a closed-form ridge minimiser. The pair weights ``w`` can give
    every trained view its own linear map and follow no physics between views, so they take the
    largest ridge; the heart-vector correction ``u . m`` and the gain ``g`` change the lead of a
    view smoothly with its direction and its size. The convolutional field decoder then learns
    what is not linear.

    With ``limb_identities`` and inputs that hold exactly one limb lead, the limb views are
    fitted as they are predicted, through the identity-keeping fit over all six limb leads
    (:func:`limb_residual_directions`; the projection is linear, so the fit stays closed-form),
    and what that fit removes from the path's own residuals of the set's limb views is held at
    zero too. Left free, it lets the path drift wherever the projection hides it (without it the
    almost unpenalised heart-vector map tripled in norm and turned the learned field away from
    the physical one over the sphere). The two together are the per-view fit of the set's limb
    views, so this changes nothing when the set holds all six; a limb lead the set lacks (a
    held-out I) then enters through the identity fit, whose output it must make right (README:
    it helps the held-out I and costs V6, 6 degrees from I in Nef-Net's angles).

    Parameters
    ----------
    network : NefNet
        A hybrid network (``config.hybrid``).
    cycles : CycleSet or sequence of CycleSet
        Training cycles; views that are exact combinations of the inputs are left out.
    ridge : float
        Ridge penalty of the pair weights ``w``, relative to the mean diagonal of their block of
        the normal matrix.
    gain_ridge : float
        Same for the physics gain ``g``.
    heart_vector_ridge : float
        Same for the heart-vector map ``m`` (ignored without ``config.heart_vector_path``).
    real_weight : float
        Weight of the squared error of cycles from real records (``CycleSet.source == "real"``)
        against simulated ones; ``k`` is the same as repeating every real set ``k`` times.
    limb_identities : bool
        Fit the limb views through the six-lead identity fit (above); False fits every view on
        its own.
    batch_size : int
        Cycles per accumulation step.

    Returns
    -------
    fraction : float
        Scaled residual energy of the prediction (limb views as predicted) left after the fit, as
        a fraction of the energy of ``target - physics`` (1 means the linear path explains
        nothing).
    """
    import torch

    from .nefnet import SCALE_FLOOR_MV, cycle_taper, view_directions

    if not getattr(getattr(network, "config", None), "hybrid", False):
        raise ValueError("network must be a hybrid NefNet (NefNetConfig(hybrid=True))")
    for name, value in (("ridge", ridge), ("gain_ridge", gain_ridge), ("heart_vector_ridge", heart_vector_ridge)):
        if not (np.isfinite(value) and value >= 0):
            raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    if not (np.isfinite(real_weight) and real_weight > 0):
        raise ValueError(f"real_weight must be a finite number > 0, got {real_weight!r}")
    sets = [cycles] if isinstance(cycles, CycleSet) else list(cycles)
    if not sets or any(len(s) == 0 for s in sets):
        raise ValueError("cycles must hold at least one non-empty CycleSet")
    paths = network.linear_path_layers()  # weights, gain[, heart-vector map]
    sizes = [paths[0][-1].in_features + 1, paths[1][-1].in_features + 1]
    heart_vector = len(paths) > 2
    if heart_vector:
        sizes.append(3 * (paths[2][-1].in_features + 1))
    n_features = sum(sizes)
    normal = np.zeros((n_features, n_features))
    consistency = np.zeros((n_features, n_features))
    right = np.zeros(n_features)
    energy = 0.0
    was_training = network.training
    network.eval()

    def with_bias(hidden: Any) -> Any:
        return torch.cat([hidden.double(), torch.ones(*hidden.shape[:-1], 1, dtype=torch.float64)], dim=-1)

    def linear_features(batch: Mapping[str, Any], query_angles: Any, physical: Any) -> Any:
        # features (n, q, t, k): the linear path is exactly features @ last-layer parameters
        signals = batch["signals"].double()
        query_code, pairs, input_code = network.linear_path_codes(batch["angles"], query_angles)
        blocks = [
            torch.einsum("nqvk,nvt->nqtk", with_bias(paths[0][:-1](pairs)), signals),
            with_bias(paths[1][:-1](query_code))[:, :, None, :] * physical.double()[..., None],
        ]
        if heart_vector:
            mixed = torch.einsum("nvk,nvt->ntk", with_bias(paths[2][:-1](input_code)), signals)
            direction = view_directions(query_angles).double()  # (n, q, 3)
            # output a of the map's last layer is row a of its weight: features (a, k)
            blocks.append(torch.einsum("nqa,ntk->nqtak", direction, mixed).flatten(-2))
        return torch.cat(blocks, dim=-1)

    with torch.no_grad():
        for cycle_set in sets:
            keep_view = torch.from_numpy(~cycle_set.exact_views).to(torch.float64)
            set_weight = real_weight if cycle_set.source == "real" else 1.0
            completion = limb_completion(cycle_set) if limb_identities else None
            for start in range(0, len(cycle_set), batch_size):
                batch = cycle_batch(cycle_set, np.arange(start, min(start + batch_size, len(cycle_set))), completion=completion)
                signals, physical = batch["signals"].double(), batch["physical"].double()
                n, v, length = signals.shape
                scale = signals.abs().amax(dim=(1, 2)).clamp(min=SCALE_FLOOR_MV)[:, None, None]
                taper = cycle_taper(batch["lengths"], length, network.config.taper_samples).double()
                weight = taper[:, None, :] * keep_view.reshape(-1)[None, :, None] / scale  # (n, q, t)
                features = linear_features(batch, batch["query_angles"], physical)
                if "limb_physical" in batch:
                    # the limb views' linear residual as predicted: beta_v rho, rho fitted over
                    # the six limb leads (_network_prediction); linear in the parameters too
                    limb = linear_features(batch, batch["limb_query_angles"], batch["limb_physical"])
                    directions = batch["limb_directions"].double()
                    rho = torch.einsum("u,nutk->ntk", directions, limb) / (directions @ directions)
                    on_limb = batch["view_directions"].double()
                    projected = on_limb[None, :, None, None] * rho[:, None]
                    # what that fit removes from the set's limb views is held at 0 (as in hybrid_loss):
                    # these rows plus the projected ones are the per-view fit of those views
                    removed = (features - projected)[:, on_limb != 0]
                    removed = (removed * (taper / scale[:, 0])[:, None, :, None]).reshape(-1, n_features).numpy()
                    consistency += set_weight * (removed.T @ removed)
                    features = torch.where((on_limb != 0)[None, :, None, None], projected, features)
                features = features * weight[..., None]
                mask = (torch.arange(length)[None, :] < batch["lengths"][:, None]).double()[:, None, :]
                target = (batch["targets"].double() - physical) * keep_view.reshape(-1)[None, :, None] * mask / scale
                flat = features.reshape(-1, n_features).numpy()
                normal += set_weight * (flat.T @ flat)
                right += set_weight * (flat.T @ target.reshape(-1).numpy())
                energy += set_weight * float((target**2).sum())
    # one ridge per block, relative to that block's mean diagonal (the blocks have different units)
    bounds = np.cumsum([0, *sizes])
    total = normal + consistency
    penalty = np.zeros(n_features)
    for (low, high), value in zip(zip(bounds[:-1], bounds[1:]), (ridge, gain_ridge, heart_vector_ridge)):
        penalty[low:high] = value * np.trace(total[low:high, low:high]) / (high - low)
    solution = np.linalg.solve(total + np.diag(penalty), right)
    left = energy - 2 * solution @ right + solution @ normal @ solution
    with torch.no_grad():
        for path, low, high in zip(paths, bounds[:-1], bounds[1:]):
            layer = path[-1]
            part = solution[low:high].reshape(layer.out_features, layer.in_features + 1)
            layer.weight.copy_(torch.from_numpy(part[:, :-1]).reshape(layer.weight.shape))
            layer.bias.copy_(torch.from_numpy(part[:, -1]).reshape(layer.bias.shape))
    network.train(was_training)
    return float(left / energy) if energy > 0 else 0.0


def train_hybrid(
    network: Any,
    cycles: CycleSet | Sequence[CycleSet],
    *,
    epochs: int = 30,
    batch_size: int = 16,
    learning_rate: float = 2e-3,
    weight_decay: float = 1e-4,
    standin_weight: float = 0.2,
    residual_weight: float = 0.01,
    views_per_step: int | None = 4,
    validation: CycleSet | None = None,
    linear_start: CycleSet | Sequence[CycleSet] | None = None,
    linear_ridge: float = LINEAR_RIDGE,
    linear_gain_ridge: float = PHYSICS_GAIN_RIDGE,
    heart_vector_ridge: float = HEART_VECTOR_RIDGE,
    linear_real_weight: float = REAL_CYCLE_WEIGHT,
    limb_identities: bool = False,
    freeze_linear: bool = False,
    random_seed: int = 0,
    progress: bool = True,
) -> list[dict[str, float]]:
    """Train a hybrid :class:`~hybridfield.nefnet.NefNet` on cycle sets (in place).

    Loss per batch: mean absolute error of the prediction scaled by each cycle's largest input
    amplitude, plus ``standin_weight`` times the Standin loss, plus ``residual_weight`` times the
    scaled mean absolute residual (keeps the residual small where physics suffices). AdamW with a
    cosine learning-rate decay; batches are drawn from the sets in proportion to their sizes.

    Parameters
    ----------
    network : NefNet
        A hybrid network (``config.hybrid``).
    cycles : CycleSet or sequence of CycleSet
        Training cycles (sets may differ in inputs and number of views).
    epochs : int
        Passes over all cycles.
    batch_size : int
        Cycles per step.
    learning_rate : float
        Peak AdamW learning rate.
    weight_decay : float
        AdamW weight decay.
    standin_weight, residual_weight : float
        Weights of the Standin loss and of the residual penalty.
    views_per_step : int or None
        Query views drawn at random for each batch (None: all); fewer views per step make an
        epoch cheaper on a CPU without biasing the loss.
    validation : CycleSet, optional
        Scored (scaled MAE) after every epoch.
    linear_start : CycleSet or sequence of CycleSet, optional
        Cycles to fit the residual's linear path on in closed form before training
        (:func:`fit_linear_path`); None keeps the network's current linear path.
    linear_ridge, linear_gain_ridge, heart_vector_ridge : float
        Ridges of that fit for the per-pair weights, the physics gain and the heart-vector
        correction (``ridge``, ``gain_ridge`` and ``heart_vector_ridge`` of
        :func:`fit_linear_path`); a larger pair-weight ridge gives a smoother linear path over
        the views between the trained ones.
    linear_real_weight : float
        Weight of real cycles against simulated ones in that fit (``real_weight`` of
        :func:`fit_linear_path`).
    limb_identities : bool
        When the inputs hold exactly one limb lead, train the limb views as they are predicted
        (:func:`predict_cycles`, :meth:`HybridPanorama.predict`): the loss sees the identity-keeping
        fit over all six limb leads, plus what that fit removes from the network's own residuals
        of the batch's limb views; the linear path's start likewise (``limb_identities`` of
        :func:`fit_linear_path`). False trains every view on its own.
    freeze_linear : bool
        Keep the linear path fixed during training (only the field decoder learns).
    random_seed : int
        Seed of torch and of the batch order.
    progress : bool
        Print one line per epoch.

    Returns
    -------
    history : list of dict
        Per epoch: ``epoch``, ``train_mae``, ``validation_mae`` (if any), ``seconds``.
    """
    import torch

    if not getattr(getattr(network, "config", None), "hybrid", False):
        raise ValueError("network must be a hybrid NefNet (NefNetConfig(hybrid=True))")
    sets = [cycles] if isinstance(cycles, CycleSet) else list(cycles)
    if not sets or any(len(s) == 0 for s in sets):
        raise ValueError("cycles must hold at least one non-empty CycleSet")
    for name, value in (("epochs", epochs), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    torch.manual_seed(random_seed)
    rng = np.random.default_rng(random_seed)
    if linear_start is not None:
        left = fit_linear_path(
            network, linear_start, ridge=linear_ridge, gain_ridge=linear_gain_ridge,
            heart_vector_ridge=heart_vector_ridge, real_weight=linear_real_weight, limb_identities=limb_identities,
        )
        if progress:
            print(f"linear path fitted in closed form: {left:.3f} of the scaled residual energy left", flush=True)
    linear_parameters = {id(p) for path in network.linear_path_layers() for p in path.parameters()}
    trained = [p for p in network.parameters() if not (freeze_linear and id(p) in linear_parameters)]
    optimiser = torch.optim.AdamW(trained, lr=learning_rate, weight_decay=weight_decay)
    # with one measured limb lead, the loss may see the limb leads as predicted: identity-keeping
    completions = [limb_completion(s) if limb_identities else None for s in sets]
    steps_per_epoch = sum(math.ceil(len(s) / batch_size) for s in sets)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimiser, max_lr=learning_rate, total_steps=epochs * steps_per_epoch, pct_start=0.1
    )
    history: list[dict[str, float]] = []
    started = time.perf_counter()
    for epoch in range(epochs):
        network.train()
        batches = []
        for k, s in enumerate(sets):
            order = rng.permutation(len(s))
            batches += [(k, order[i : i + batch_size]) for i in range(0, len(s), batch_size)]
        rng.shuffle(batches)
        total = weight = 0.0
        for k, index in batches:
            n_views = sets[k].targets.shape[1]
            views = None
            if views_per_step is not None and views_per_step < n_views:
                views = np.sort(rng.choice(n_views, size=views_per_step, replace=False))
            loss, mae = hybrid_loss(network, cycle_batch(sets[k], index, views, completions[k]), standin_weight, residual_weight)
            optimiser.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(trained, 1.0)
            optimiser.step()
            schedule.step()
            total += mae * len(index)
            weight += len(index)
        entry = {"epoch": epoch + 1, "train_mae": total / weight, "seconds": time.perf_counter() - started}
        if validation is not None:
            entry["validation_mae"] = _evaluate_mae(network, validation)
        history.append(entry)
        if progress:
            extra = f", validation {entry['validation_mae']:.4f}" if validation is not None else ""
            print(f"epoch {epoch + 1}/{epochs}: train {entry['train_mae']:.4f}{extra} ({entry['seconds']:.0f} s)", flush=True)
    network.eval()
    return history


def _evaluate_mae(network: Any, cycles: CycleSet, batch_size: int = 128) -> float:
    import torch

    from .nefnet import SCALE_FLOOR_MV

    network.eval()
    completion = limb_completion(cycles)
    total = count = 0.0
    with torch.no_grad():
        for start in range(0, len(cycles), batch_size):
            batch = cycle_batch(cycles, np.arange(start, min(start + batch_size, len(cycles))), completion=completion)
            prediction = _network_prediction(network, batch)[0]
            length = prediction.shape[-1]
            mask = (torch.arange(length)[None, :] < batch["lengths"][:, None]).to(prediction.dtype)[:, None, :]
            scale = batch["signals"].abs().amax(dim=(1, 2)).clamp(min=SCALE_FLOOR_MV)[:, None, None]
            total += float(((prediction - batch["targets"]).abs() / scale * mask).sum())
            count += float(mask.sum()) * prediction.shape[1]
    return total / count


def predict_cycles(network: Any, cycles: CycleSet, *, residual: bool = True, batch_size: int = 256) -> np.ndarray:
    """Hybrid prediction of every query view of every cycle, mV.

    Parameters
    ----------
    network : NefNet
        Hybrid network.
    cycles : CycleSet
        Cycles.
    residual : bool
        False: the physical projection alone.
    batch_size : int
        Cycles per forward pass.

    Returns
    -------
    prediction : (n_cycles, n_views, length) float32, mV

    Notes
    -----
    When the inputs hold exactly one limb lead, the residuals of the limb leads among the query
    views are replaced by the ones that keep Einthoven's and Goldberger's identities with it
    (:func:`limb_residual_directions`), fitted over all six limb leads whichever the set holds,
    as in training and in :meth:`HybridPanorama.predict`.
    """
    import torch

    if not residual:
        return cycles.physical.copy()
    network.eval()
    completion = limb_completion(cycles)
    out = np.empty_like(cycles.physical)
    with torch.no_grad():
        for start in range(0, len(cycles), batch_size):
            index = np.arange(start, min(start + batch_size, len(cycles)))
            out[index] = _network_prediction(network, cycle_batch(cycles, index, completion=completion))[0].numpy()
    return out
