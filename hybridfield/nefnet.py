"""Nef-Net: the neural electrocardio field network (Chen et al., IJCAI 2021), as a residual on physics.

The network follows the published design, sized for a CPU:

1. **Angular Encoding** (paper, Eq. 2): a view ``(theta, phi)`` becomes the 12 numbers
   ``[r, sin r, cos r]`` for ``r`` in ``(theta, phi, theta + phi, theta - phi)``; during
   training each angle is jittered by Gaussian noise of standard deviation ``pi / 50`` so the
   network does not memorise the handful of training angles.
2. **Encoder**: every input view is encoded on its own by the same 1-D convolution stack (a
   grouped convolution with one group per view and shared weights, so any number of input views
   is accepted), and its features are multiplied by an MLP of the view's Angular Encoding, which
   removes the viewpoint from the features (paper, "Encoding").
3. **Field representation**: a *basic code* (the features pooled to a fixed number of bins over
   the whole cycle) and *deflection codes* pooled per region (P, PR, QRS, ST, T, TP, padding) by
   1-D ROIAlign (He et al. 2017), so regions of any length map to codes of fixed size. Codes are
   averaged over the input views.
4. **Decoder**: each region's code goes through its own convolution, is put back to the region's
   own length by reverse ROIAlign (linear interpolation), is stacked with the basic code, and is
   multiplied by an MLP of the *query* view's Angular Encoding; convolutions then give the output.
5. **Losses**: mean absolute error plus the *Standin loss*: the output decoded from one view's own
   codes is pulled towards the (stop-gradient) output decoded from the averaged codes.

The hybrid (DESIGN.md): the network also sees the physical prediction of the query view (the
fitted heart vector projected through the torso lead vector) and outputs a **residual** added to
it. The residual is tapered to zero at both ends of the cycle (so cycles stitch without seams)
and can be switched off, in which case the output *is* the physical prediction. Signals enter in
mV and are scaled by each cycle's largest input amplitude (the network is scale-equivariant: a
record twice as large gets a residual twice as large), which keeps personal amplitude instead of
pulling every record towards the population mean.

torch is imported on import of this module (which is itself imported only when needed).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from .protocol_cycles import REGION_NAMES

__all__ = [
    "NefNetConfig",
    "NefNet",
    "angular_encoding",
    "region_boundaries",
    "roi_align",
    "reverse_roi_align",
    "cycle_taper",
    "view_directions",
    "REGION_COUNT",
]

#: Regions of a cycle: P, PR, QRS, ST, T, TP and the padding (codes 0..6 of BeatSet.regions).
REGION_COUNT = len(REGION_NAMES)

#: Input scale floor, mV: a cycle whose inputs are all smaller than this is not blown up.
SCALE_FLOOR_MV = 0.05


def angular_encoding(angles: torch.Tensor) -> torch.Tensor:
    """Nef-Net's Angular Encoding of views.

    Parameters
    ----------
    angles : (..., 2) tensor, radians
        ``(theta, phi)`` of each view.

    Returns
    -------
    encoding : (..., 12) tensor
        ``[r, sin r, cos r]`` for ``r`` in ``(theta, phi, theta + phi, theta - phi)``.
    """
    if angles.shape[-1] != 2:
        raise ValueError(f"angles must have a last axis of size 2 (theta, phi), got shape {tuple(angles.shape)}")
    theta, phi = angles[..., 0], angles[..., 1]
    rows = torch.stack([theta, phi, theta + phi, theta - phi], dim=-1)
    return torch.cat([rows, torch.sin(rows), torch.cos(rows)], dim=-1)


def region_boundaries(regions: torch.Tensor) -> torch.Tensor:
    """Region boundaries ``D_0 .. D_7`` of cycles from their per-sample region codes.

    Region ``r`` spans samples ``[D_r, D_{r+1})``; ``D_0 = 0`` and ``D_7`` is the padded length.
    Regions are contiguous and in order (as :func:`hybridfield.protocol_cycles.nefnet_beats` makes them), so
    ``D_r`` is the number of samples whose code is below ``r``.

    Parameters
    ----------
    regions : (n_cycles, length) integer tensor
        Codes 0..6 (P, PR, QRS, ST, T, TP, padding).

    Returns
    -------
    boundaries : (n_cycles, 8) float tensor, samples
    """
    if regions.ndim != 2:
        raise ValueError(f"regions must have shape (n_cycles, length), got {tuple(regions.shape)}")
    codes = torch.arange(REGION_COUNT + 1, device=regions.device)
    return (regions.long()[:, None, :] < codes[None, :, None]).sum(dim=-1).to(torch.float32)


def _linear_gather(values: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
    """Linear interpolation of ``values (N, C, T)`` at float ``positions (N, P)`` (clamped to the ends)."""
    size = values.shape[-1]
    positions = positions.clamp(0.0, size - 1.0)
    lower = positions.floor()
    weight = (positions - lower).unsqueeze(1)
    lower_index = lower.long().clamp(0, size - 1)
    upper_index = (lower_index + 1).clamp(max=size - 1)
    channels = values.shape[1]
    lower_values = values.gather(2, lower_index.unsqueeze(1).expand(-1, channels, -1))
    upper_values = values.gather(2, upper_index.unsqueeze(1).expand(-1, channels, -1))
    return lower_values * (1.0 - weight) + upper_values * weight


def roi_align(features: torch.Tensor, boundaries: torch.Tensor, bins: int) -> torch.Tensor:
    """1-D ROIAlign: resample every region of every cycle to ``bins`` points.

    Sample ``i`` of a feature sequence sits at coordinate ``i``; region ``[a, b)`` is read at the
    bin centres ``a + (k + 1/2) (b - a) / bins - 1/2`` (``k = 0 .. bins - 1``) by linear
    interpolation (one sample per bin, as ROIAlign with sampling ratio 1). With ``bins == b - a``
    this reads the samples themselves. An empty region reads the sample at its start.

    Parameters
    ----------
    features : (n, channels, length) tensor
    boundaries : (n, n_regions + 1) tensor, in feature samples (may be fractional)
    bins : int
        Points per region.

    Returns
    -------
    codes : (n, channels, n_regions, bins) tensor
    """
    n, channels, _ = features.shape
    start, stop = boundaries[:, :-1], boundaries[:, 1:]
    n_regions = start.shape[1]
    fraction = (torch.arange(bins, dtype=features.dtype, device=features.device) + 0.5) / bins
    positions = start[..., None] + fraction * (stop - start)[..., None] - 0.5  # (n, R, bins)
    positions = torch.where((stop - start)[..., None] > 0, positions, start[..., None])
    sampled = _linear_gather(features, positions.reshape(n, -1))
    return sampled.reshape(n, channels, n_regions, bins)


def reverse_roi_align(codes: torch.Tensor, boundaries: torch.Tensor, length: int) -> torch.Tensor:
    """Reverse ROIAlign: put each region's fixed-size code back to the region's own length.

    Output sample ``t`` of region ``[a, b)`` reads the region's code at the fractional bin
    ``(t - a + 1/2) bins / (b - a) - 1/2`` by linear interpolation (clamped to the first and last
    bins), the inverse of the sampling in :func:`roi_align`. Samples outside every region are 0.

    Parameters
    ----------
    codes : (n, channels, n_regions, bins) tensor
    boundaries : (n, n_regions + 1) tensor, output samples
    length : int
        Output length.

    Returns
    -------
    features : (n, channels, length) tensor
    """
    n, channels, n_regions, bins = codes.shape
    t = torch.arange(length, dtype=codes.dtype, device=codes.device)[None, :] + 0.5  # sample centres
    start, stop = boundaries[:, :-1], boundaries[:, 1:]
    # region of each output sample: the number of region starts at or before it, minus one
    region = (t[:, None, :] >= start[..., None]).sum(dim=1) - 1  # (n, length)
    inside = (region >= 0) & (t < stop[:, -1:])
    region = region.clamp(0, n_regions - 1)
    region_start = start.gather(1, region)
    region_size = (stop.gather(1, region) - region_start).clamp(min=1e-6)
    position = (t - region_start) * bins / region_size - 0.5
    position = position.clamp(0.0, bins - 1.0)
    flat = codes.reshape(n, channels, n_regions * bins)
    # keep interpolation inside the region's own bins: offset by region * bins after clamping
    lower = position.floor()
    weight = (position - lower).unsqueeze(1)
    lower_index = lower.long() + region * bins
    upper_index = (lower.long() + 1).clamp(max=bins - 1) + region * bins
    lower_values = flat.gather(2, lower_index.unsqueeze(1).expand(-1, channels, -1))
    upper_values = flat.gather(2, upper_index.unsqueeze(1).expand(-1, channels, -1))
    values = lower_values * (1.0 - weight) + upper_values * weight
    return values * inside.unsqueeze(1).to(values.dtype)


def cycle_taper(lengths: torch.Tensor, length: int, ramp: int) -> torch.Tensor:
    """Raised-cosine taper: 0 on the first and last sample of each cycle, 1 inside, 0 on the padding.

    Parameters
    ----------
    lengths : (n,) integer tensor
        Unpadded length of each cycle, samples.
    length : int
        Padded length, samples.
    ramp : int
        Samples over which the taper rises from 0 to 1 (and falls at the end).

    Returns
    -------
    taper : (n, length) float tensor
    """
    t = torch.arange(length, dtype=torch.float32, device=lengths.device)[None, :]
    ends = lengths.to(torch.float32)[:, None]
    if ramp <= 0:
        return (t < ends).to(torch.float32)
    # exactly 0 on the first and the last sample of the cycle, where the next cycle takes over
    rise = 0.5 - 0.5 * torch.cos(math.pi * torch.clamp(t / ramp, 0.0, 1.0))
    fall = 0.5 - 0.5 * torch.cos(math.pi * torch.clamp((ends - 1.0 - t) / ramp, 0.0, 1.0))
    return rise * fall * (t < ends).to(torch.float32)


@dataclass(frozen=True)
class NefNetConfig:
    """Sizes of a :class:`NefNet` (saved with its weights).

    Attributes
    ----------
    length : int
        Padded cycle length, samples (512 at 500 Hz in the Nef-Net protocol).
    channels : int
        Feature channels of the encoder and of each of the basic and deflection branches.
    downsample : int
        Time reduction of the encoder (feature length = ``length / downsample``).
    basic_bins : int
        Bins of the basic code.
    region_bins : int
        Bins of each region's deflection code.
    angle_hidden : int
        Hidden units of the angle MLPs.
    linear_hidden : int
        Hidden units of the linear residual path's MLPs (hybrid mode): more units let its
        closed-form start (:func:`~hybridfield.training.fit_linear_path`) give each trained
        view its own linear map.
    angle_jitter : float, radians
        Standard deviation of the training-time angle perturbation (pi / 50 in the paper).
    taper_samples : int
        Samples over which the residual fades in and out at the cycle ends.
    heart_vector_path : bool
        Hybrid mode: add a heart-vector correction to the linear path, a weight
        ``u(query) . m(input)`` for every (query, input) pair, with ``u`` the query's unit view
        direction and ``m`` a 3-vector MLP of the input's Angular Encoding. It is a correction of
        the heart vector seen from every angle, so it varies with the view as a dipole's lead
        does and carries over to views never trained on.
    hybrid : bool
        True: the decoder sees the physical prediction and the output is physics + residual.
        False: Nef-Net as published (the output is the synthesised signal itself).
    """

    length: int = 512
    channels: int = 24
    downsample: int = 4
    basic_bins: int = 16
    region_bins: int = 8
    angle_hidden: int = 32
    linear_hidden: int = 128
    angle_jitter: float = math.pi / 50
    taper_samples: int = 16
    heart_vector_path: bool = True
    hybrid: bool = True

    def __post_init__(self) -> None:
        for name in ("length", "channels", "downsample", "basic_bins", "region_bins", "angle_hidden", "linear_hidden"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if self.length % self.downsample:
            raise ValueError(f"length ({self.length}) must be a multiple of downsample ({self.downsample})")
        if self.downsample not in (1, 2, 4, 8):
            raise ValueError(f"downsample must be 1, 2, 4 or 8, got {self.downsample}")
        if not (self.angle_jitter >= 0 and math.isfinite(self.angle_jitter)):
            raise ValueError(f"angle_jitter must be a finite angle >= 0 (radians), got {self.angle_jitter}")

    def to_dict(self) -> dict[str, Any]:
        """Plain dictionary of the sizes.

        Returns
        -------
        sizes : dict of str to int, float or bool
            JSON-serialisable; ``NefNetConfig(**sizes)`` rebuilds the configuration.
        """
        return asdict(self)


def view_directions(angles: torch.Tensor) -> torch.Tensor:
    """Unit view directions of Nef-Net angles (the torch twin of ``geometry.angles.direction_from_angles``).

    Parameters
    ----------
    angles : (..., 2) tensor, radians
        ``(theta, phi)``.

    Returns
    -------
    directions : (..., 3) tensor
        ``(sin theta cos phi, sin theta sin phi, cos theta)``.
    """
    theta, phi = angles[..., 0], angles[..., 1]
    return torch.stack([torch.sin(theta) * torch.cos(phi), torch.sin(theta) * torch.sin(phi), torch.cos(theta)], dim=-1)


def _time_major(stack: nn.Module, features: torch.Tensor) -> torch.Tensor:
    """Run a stack of 1-D convolutions and activations on time-major features.

    ``features`` is ``(n, channels, 1, length)`` in channels-last memory (time-major: each
    sample's channels adjacent). Every ``nn.Conv1d`` is applied as the equivalent 2-D convolution
    with a kernel of height 1; other layers (activations) are applied as they are. The weights
    stay those of the ``nn.Conv1d`` modules, so checkpoints are unchanged. Why: on CPU, oneDNN
    runs these 2-D channels-last convolutions at the network's small channel counts 2-2.5 times
    faster than the same 1-D convolutions in channels-first memory (the decoder's first
    convolution over 3,072 cycle-views: 62 ms against 151 ms on 2 cores), and the output agrees
    to float rounding.
    """
    layers = stack if isinstance(stack, nn.Sequential) else (stack,)
    for layer in layers:
        if isinstance(layer, nn.Conv1d):
            features = F.conv2d(
                features, layer.weight.unsqueeze(2), layer.bias,
                stride=(1, layer.stride[0]), padding=(0, layer.padding[0]), groups=layer.groups,
            )
        else:
            features = layer(features)
    return features


def _channels_last(features: torch.Tensor) -> torch.Tensor:
    """``(n, channels, length)`` to ``(n, channels, 1, length)`` in channels-last (time-major) memory."""
    return features.unsqueeze(2).contiguous(memory_format=torch.channels_last)


def _angle_mlp(hidden: int, out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(12, hidden), nn.GELU(), nn.Linear(hidden, out))


class NefNet(nn.Module):
    """Nef-Net encoder-decoder, optionally as a residual on a physical prediction.

    Parameters
    ----------
    config : NefNetConfig, optional
        Sizes (default :class:`NefNetConfig()`, about 40 k parameters).

    Notes
    -----
    ``forward`` takes cycles in mV and returns cycles in mV. In hybrid mode the residual has two
    paths: the convolutional field decoder above, and a linear path (a weight for every pair of
    query and input view, a gain of the physical prediction, each an MLP of the Angular
    Encodings, and a heart-vector correction ``u(query) . m(input)`` that is linear in the query's
    view direction), which lets the residual express a view-dependent linear correction exactly at
    full rate. Both start near zero, so an untrained network returns almost the physics;
    :meth:`zero_residual` makes it exact. The linear path is linear in its last layers, so it can
    be fitted in closed form (:func:`~hybridfield.training.fit_linear_path`) and kept while the
    decoder trains; angle jitter reaches the field encoder and decoder only.
    """

    def __init__(self, config: NefNetConfig | None = None):
        super().__init__()
        self.config = config = NefNetConfig() if config is None else config
        if not isinstance(config, NefNetConfig):
            raise TypeError(f"config must be a NefNetConfig, got {type(config).__name__}")
        c = config.channels
        layers: list[nn.Module] = [nn.Conv1d(1, c, 7, padding=3), nn.GELU()]
        for _ in range(int(math.log2(config.downsample))):
            layers += [nn.Conv1d(c, c, 5, stride=2, padding=2), nn.GELU()]
        layers += [nn.Conv1d(c, c, 5, padding=2), nn.GELU()]
        self.encoder = nn.Sequential(*layers)
        self.encoder_angle = _angle_mlp(config.angle_hidden, c)
        self.to_basic = nn.Conv1d(c, c, 1)
        self.to_deflection = nn.Conv1d(c, c, 1)
        # one convolution per region, not shared (paper, "Synthesizing"): a grouped convolution
        self.region_decoder = nn.Conv1d(REGION_COUNT * c, REGION_COUNT * c, 3, padding=1, groups=REGION_COUNT)
        self.decoder_angle = _angle_mlp(config.angle_hidden, 2 * c)
        extra = 1 if config.hybrid else 0
        self.decoder = nn.Sequential(
            nn.Conv1d(2 * c + extra, c, 5, padding=2),
            nn.GELU(),
            nn.Conv1d(c, c, 5, padding=2),
            nn.GELU(),
        )
        self.output = nn.Conv1d(c, 1, 1)
        if config.hybrid:
            # the linear path of the residual: per (query, input) weight, a per-query gain of the
            # physical prediction and (optionally) a per-input heart-vector map, all functions of
            # the Angular Encodings (zero at initialisation)
            self.linear_weights = nn.Sequential(nn.Linear(24, config.linear_hidden), nn.GELU(), nn.Linear(config.linear_hidden, 1))
            self.physics_gain = _angle_mlp(config.linear_hidden, 1)
            if config.heart_vector_path:
                self.heart_vector_map = _angle_mlp(config.angle_hidden, 3)
            for layer in self.linear_path_layers():
                nn.init.zeros_(layer[-1].weight)
                nn.init.zeros_(layer[-1].bias)
            nn.init.normal_(self.output.weight, std=1e-3)
            nn.init.zeros_(self.output.bias)

    def zero_residual(self) -> None:
        """Set the last layer of every residual path to zero: the output becomes the physics exactly."""
        with torch.no_grad():
            for layer in (self.output, *(path[-1] for path in self.linear_path_layers())):
                layer.weight.zero_()
                layer.bias.zero_()

    def linear_path_layers(self) -> list[nn.Sequential]:
        """The MLPs of the linear residual path (empty for a published-mode network).

        Returns
        -------
        layers : list of nn.Sequential
            ``linear_weights`` (per (query, input) pair), ``physics_gain`` (per query) and, with
            ``config.heart_vector_path``, ``heart_vector_map`` (per input); each ends in the
            linear layer that :func:`~hybridfield.training.fit_linear_path` solves for.
        """
        if not self.config.hybrid:
            return []
        layers = [self.linear_weights, self.physics_gain]
        if self.config.heart_vector_path:
            layers.append(self.heart_vector_map)
        return layers

    # ------------------------------------------------------------------------------------------
    def _angles(self, angles: torch.Tensor, n_cycles: int, parameter: str) -> torch.Tensor:
        if angles.ndim == 2:
            angles = angles.unsqueeze(0).expand(n_cycles, -1, -1)
        if angles.ndim != 3 or angles.shape[0] != n_cycles or angles.shape[2] != 2:
            raise ValueError(f"{parameter} must have shape (n_views, 2) or ({n_cycles}, n_views, 2), got {tuple(angles.shape)}")
        return angles

    def _jittered(self, angles: torch.Tensor) -> torch.Tensor:
        # Nef-Net's angle augmentation, for the field encoder and decoder only: the linear path
        # keeps the nominal angles, so its per-view weights stay those of the views trained on
        if self.training and self.config.angle_jitter > 0:
            return angles + self.config.angle_jitter * torch.randn_like(angles)
        return angles

    @staticmethod
    def linear_path_codes(
        angles: torch.Tensor, query_angles: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Inputs of the linear path's MLPs (read by :func:`hybridfield.training.fit_linear_path`
        too, which must see exactly what :meth:`forward` sees).

        Parameters
        ----------
        angles : (n, v, 2) tensor, radians
            Input views.
        query_angles : (n, q, 2) tensor, radians
            Query views.

        Returns
        -------
        query_code : (n, q, 12) tensor
            The query's Angular Encoding (for the physics gain).
        pairs : (n, q, v, 24) tensor
            Every (query, input) pair's encodings side by side (for the pair weights).
        input_code : (n, v, 12) tensor
            The inputs' own encodings (for the heart-vector map).
        """
        n, q, v = query_angles.shape[0], query_angles.shape[1], angles.shape[1]
        query_code, input_code = angular_encoding(query_angles), angular_encoding(angles)
        pairs = torch.cat(
            [query_code[:, :, None, :].expand(n, q, v, 12), input_code[:, None, :, :].expand(n, q, v, 12)], dim=-1
        )
        return query_code, pairs, input_code

    def encode(
        self, signals: torch.Tensor, angles: torch.Tensor, boundaries: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-view basic and deflection codes.

        Parameters
        ----------
        signals : (n_cycles, n_views, length) tensor, scaled
            Input views.
        angles : (n_cycles, n_views, 2) tensor, radians
            Their ``(theta, phi)``.
        boundaries : (n_cycles, 8) tensor, samples
            From :func:`region_boundaries`.

        Returns
        -------
        basic : (n_cycles, n_views, channels, basic_bins) tensor
        deflection : (n_cycles, n_views, channels, 7, region_bins) tensor
        """
        n, v, length = signals.shape
        # shared weights: every view through the same stack, time-major for speed (_time_major)
        features = _time_major(self.encoder, _channels_last(signals.reshape(n * v, 1, length)))
        features = features * self.encoder_angle(angular_encoding(angles)).reshape(n * v, -1, 1, 1)
        basic = F.adaptive_avg_pool1d(_time_major(self.to_basic, features).squeeze(2), self.config.basic_bins)
        scale = features.shape[-1] / length
        feature_boundaries = (boundaries * scale).repeat_interleave(v, dim=0)
        deflection_features = _time_major(self.to_deflection, features).squeeze(2).contiguous()
        deflection = roi_align(deflection_features, feature_boundaries, self.config.region_bins)
        return basic.reshape(n, v, *basic.shape[1:]), deflection.reshape(n, v, *deflection.shape[1:])

    def decode(
        self,
        basic: torch.Tensor,
        deflection: torch.Tensor,
        query_angles: torch.Tensor,
        boundaries: torch.Tensor,
        physical: torch.Tensor | None,
    ) -> torch.Tensor:
        """Synthesise the query views from field codes.

        Parameters
        ----------
        basic : (n_cycles, channels, basic_bins) tensor
        deflection : (n_cycles, channels, 7, region_bins) tensor
        query_angles : (n_cycles, n_queries, 2) tensor, radians
        boundaries : (n_cycles, 8) tensor, samples
        physical : (n_cycles, n_queries, length) tensor, scaled, or None
            The physical prediction of each query (hybrid mode).

        Returns
        -------
        output : (n_cycles, n_queries, length // downsample) tensor, scaled
            Residual (hybrid) or signal (published mode) at the feature rate.
        """
        n, c, _ = basic.shape
        q = query_angles.shape[1]
        length = self.config.length
        feature_length = length // self.config.downsample
        regions = self.region_decoder(deflection.permute(0, 2, 1, 3).reshape(n, REGION_COUNT * c, -1))
        regions = regions.reshape(n, REGION_COUNT, c, -1).permute(0, 2, 1, 3)
        deflection_features = reverse_roi_align(regions, boundaries * (feature_length / length), feature_length)
        basic_features = F.interpolate(basic, size=feature_length, mode="linear", align_corners=False)
        field = torch.cat([basic_features, deflection_features], dim=1).transpose(1, 2)  # (n, T', 2c)
        angle_scale = self.decoder_angle(angular_encoding(query_angles))  # (n, q, 2c)
        # time-major (n q, T', channels) so the convolutions run channels-last (see _time_major)
        conditioned = (field[:, None] * angle_scale[:, :, None, :]).reshape(n * q, feature_length, 2 * c)
        if self.config.hybrid:
            if physical is None:
                raise ValueError("a hybrid NefNet needs the physical prediction of every query view")
            pooled = F.avg_pool1d(physical.reshape(n * q, 1, length), self.config.downsample)
            conditioned = torch.cat([conditioned, pooled.reshape(n * q, feature_length, 1)], dim=-1)
        decoded = _time_major(self.decoder, conditioned.transpose(1, 2).unsqueeze(2))
        return _time_major(self.output, decoded).reshape(n, q, feature_length)

    def forward(
        self,
        signals: torch.Tensor,
        angles: torch.Tensor,
        query_angles: torch.Tensor,
        regions: torch.Tensor,
        lengths: torch.Tensor,
        physical: torch.Tensor | None = None,
        *,
        exact: torch.Tensor | None = None,
        residual: bool = True,
        standin: bool = False,
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Synthesise query views of cycles from input views.

        Parameters
        ----------
        signals : (n_cycles, n_inputs, length) tensor, mV
            Input views, zero-padded after each cycle.
        angles : (n_inputs, 2) or (n_cycles, n_inputs, 2) tensor, radians
            ``(theta, phi)`` of the inputs.
        query_angles : (n_queries, 2) or (n_cycles, n_queries, 2) tensor, radians
            Views to synthesise.
        regions : (n_cycles, length) integer tensor
            Region codes (0 P, 1 PR, 2 QRS, 3 ST, 4 T, 5 TP, 6 padding).
        lengths : (n_cycles,) integer tensor
            Unpadded cycle lengths, samples.
        physical : (n_cycles, n_queries, length) tensor, mV, optional
            Physical prediction of each query (required in hybrid mode).
        exact : (n_queries,) or (n_cycles, n_queries) bool tensor, optional
            Queries whose physical prediction is exact by definition (a combination of the
            inputs, e.g. III = II - I): their residual is 0 (hybrid mode).
        residual : bool
            False: return the physical prediction untouched (hybrid mode only).
        standin : bool
            Also return the Standin pair (for training): the output decoded from one randomly
            chosen input view's own codes, and the output from the averaged codes.

        Returns
        -------
        prediction : (n_cycles, n_queries, length) tensor, mV
            Zero on the padding.
        single_view, averaged : (n_cycles, n_queries, length // downsample) tensors, scaled
            Only with ``standin=True``.
        """
        config = self.config
        if signals.ndim != 3 or signals.shape[-1] != config.length:
            raise ValueError(f"signals must have shape (n_cycles, n_inputs, {config.length}), got {tuple(signals.shape)}")
        n, v, length = signals.shape
        if regions.shape != (n, length):
            raise ValueError(f"regions must have shape ({n}, {length}), got {tuple(regions.shape)}")
        if lengths.shape != (n,):
            raise ValueError(f"lengths must have shape ({n},), got {tuple(lengths.shape)}")
        angles = self._angles(angles, n, "angles")
        query_angles = self._angles(query_angles, n, "query_angles")
        q = query_angles.shape[1]
        if config.hybrid:
            if physical is None or physical.shape != (n, q, length):
                got = None if physical is None else tuple(physical.shape)
                raise ValueError(f"physical must have shape ({n}, {q}, {length}) in hybrid mode, got {got}")
            if not residual:
                return physical
        mask = (torch.arange(length, device=signals.device)[None, :] < lengths[:, None]).to(signals.dtype)
        # one scale per cycle: the largest input amplitude (scale-equivariant network)
        scale = signals.abs().amax(dim=(1, 2)).clamp(min=SCALE_FLOOR_MV)[:, None, None]
        boundaries = region_boundaries(regions)
        jittered_angles, jittered_queries = self._jittered(angles), self._jittered(query_angles)
        basic, deflection = self.encode(signals / scale, jittered_angles, boundaries)
        scaled_physical = None if physical is None else physical / scale
        averaged = self.decode(basic.mean(dim=1), deflection.mean(dim=1), jittered_queries, boundaries, scaled_physical)
        upsampled = F.interpolate(averaged, size=length, mode="linear", align_corners=False) * scale
        if config.hybrid:
            query_code, pairs, input_code = self.linear_path_codes(angles, query_angles)
            weights = self.linear_weights(pairs).squeeze(-1)  # (n, q, v)
            if config.heart_vector_path:
                # u(query) . m(input): a heart-vector correction, linear in the view direction
                weights = weights + torch.einsum(
                    "nqa,nva->nqv", view_directions(query_angles).to(signals.dtype), self.heart_vector_map(input_code)
                )
            gain = self.physics_gain(query_code)  # (n, q, 1)
            linear = torch.einsum("nqv,nvt->nqt", weights, signals) + gain * physical
            taper = cycle_taper(lengths, length, config.taper_samples).to(signals.dtype)[:, None, :]
            if exact is not None:
                keep = (~exact.to(torch.bool)).to(signals.dtype)
                taper = taper * (keep if keep.ndim == 2 else keep[None, :].expand(n, q))[..., None]
            prediction = physical + (linear + upsampled) * taper
        else:
            prediction = upsampled * mask[:, None, :]
        if not standin:
            return prediction
        chosen = int(torch.randint(v, (1,)).item()) if v > 1 else 0
        single = self.decode(basic[:, chosen], deflection[:, chosen], jittered_queries, boundaries, scaled_physical)
        return prediction, single, averaged.detach()

    def parameter_count(self) -> int:
        """Number of trainable parameters.

        Returns
        -------
        count : int
        """
        return sum(p.numel() for p in self.parameters() if p.requires_grad)
