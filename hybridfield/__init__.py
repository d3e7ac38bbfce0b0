"""hybridfield: physics-hybrid ECG modelling (the Electrocardio Panorama).

The top of a three-package stack::

    geometry     torso meshes, heart centre, electrode placement, view angles
       ^
    forward      dipole sources, volume conductors (sphere, BEM), lead fields, VCG transforms
       ^
    hybridfield  ECG data, Nef-Net residual, hybrid panorama, PyMC uncertainty, metrics, plots

Units and frames, everywhere: positions in metres, conductivity in S/m, dipole moments (the heart
vector) in mA*m, potentials and ECG signals in mV, time in s with the sampling rate ``fs`` in Hz
always explicit. Body frame: origin at the heart's electrical centre, x anterior, y the subject's
left, z superior. A view ``(theta, phi)`` is in radians: ``theta`` the polar angle from +z,
``phi`` the azimuth from +x towards +y.

Importing ``hybridfield`` is cheap: heavy optional dependencies (matplotlib, torch, pymc) are
imported only when a feature that needs them is used. Public names are resolved lazily from
:data:`_LAZY_ATTRIBUTES`, a table ``name -> "module:attribute"``; add a row there (and nothing
else) to export a new function.

Plotting
--------
plot_ecg
    A record as a clinical print: 3 x 4 leads plus a rhythm strip at 25 mm/s and 10 mm/mV, with
    calibration pulses, overlays (physical, learned...) and credible bands; any lead list.
plot_leads
    Lead signals (mV) against time (s) on an ECG-paper grid; virtual leads marked as such.
plot_panorama
    The Electrocardio Panorama: a theta x phi grid of beats, optionally with a second panorama.
plot_view_map
    A metric over view angles (theta-phi map in degrees), standard leads' views marked.
plot_torso
    The torso in 3-D with electrodes, heart centre, views' surface points and the image surface.
plot_vector_loops
    Frontal, horizontal and sagittal loops of a heart vector or a Frank VCG (with posterior spread).
plot_views
    Physical (lead-field) versus unit-vector (Nef-Net idealised) projection, view by view.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version as _distribution_version

from geometry._lazy import lazy_namespace

try:
    __version__: str = _distribution_version("hybridfield")
except PackageNotFoundError:  # a source tree that was not installed
    __version__ = "0+unknown"
del PackageNotFoundError, _distribution_version

#: Public names resolved on first access: ``name -> "module:attribute"``.
_LAZY_ATTRIBUTES: dict[str, str] = {
    "ECG": "hybridfield.ecg:ECG",
    "read_wfdb": "hybridfield.io:read_wfdb",
    "read_wfdb_folder": "hybridfield.io:read_wfdb_folder",
    "canonical_lead_name": "hybridfield.leads:canonical_lead_name",
    "segment_beats": "hybridfield.beats:segment_beats",
    "nefnet_beats": "hybridfield.protocol_cycles:nefnet_beats",
    "BeatSegmentation": "hybridfield.beats:BeatSegmentation",
    "BeatSet": "hybridfield.protocol_cycles:BeatSet",
    "fit_heart_vector": "hybridfield.physics:fit_heart_vector",
    "calibrate_leads": "hybridfield.physics:calibrate_leads",
    "predict_posterior": "hybridfield.posterior:predict_posterior",
    "physical_answer": "hybridfield.posterior:physical_answer",
    "beat_cycles": "hybridfield.beat_cycles:beat_cycles",
    "BeatCycles": "hybridfield.beat_cycles:BeatCycles",
    "PosteriorLeads": "hybridfield.posterior_leads:PosteriorLeads",
    "PopulationModel": "hybridfield.population:PopulationModel",
    "fit_population_model": "hybridfield.population:fit_population_model",
    "default_population_model": "hybridfield.population:default_population_model",
    "interval_score": "hybridfield.metrics:interval_score",
    "coverage": "hybridfield.metrics:coverage",
    "regression_to_the_mean": "hybridfield.metrics:regression_to_the_mean",
    "PopulationRegression": "hybridfield.metrics:PopulationRegression",
    "plot_leads": "hybridfield.plots:plot_leads",
    "plot_vector_loops": "hybridfield.plots:plot_vector_loops",
    "plot_views": "hybridfield.plots:plot_views",
    "plot_ecg": "hybridfield.plots:plot_ecg",
    "plot_panorama": "hybridfield.plots:plot_panorama",
    "plot_view_map": "hybridfield.plots:plot_view_map",
    "plot_torso": "hybridfield.plots:plot_torso",
    "compare_fields": "hybridfield.compare:compare_fields",
    "plot_comparison": "hybridfield.plots:plot_comparison",
    "effective_lead_vectors": "hybridfield.compare:effective_lead_vectors",
    "dipolar_fraction": "hybridfield.compare:dipolar_fraction",
    "sphere_view_grid": "hybridfield.compare:sphere_view_grid",
    "NefNet": "hybridfield.nefnet:NefNet",
    "NefNetConfig": "hybridfield.nefnet:NefNetConfig",
    "HybridPanorama": "hybridfield.panorama:HybridPanorama",
    "CycleSet": "hybridfield.cycles:CycleSet",
    "real_cycles": "hybridfield.cycles:real_cycles",
    "simulated_cycles": "hybridfield.cycles:simulated_cycles",
    "train_hybrid": "hybridfield.training:train_hybrid",
    "fit_linear_path": "hybridfield.training:fit_linear_path",
    "lead_view_angles": "hybridfield.leads:lead_view_angles",
    "predict_cycles": "hybridfield.training:predict_cycles",
    "prepare_record": "hybridfield.preparation:prepare_record",
    "PreparedRecord": "hybridfield.preparation:PreparedRecord",
    "PREPROCESSING": "hybridfield.preparation:PREPROCESSING",
    "STANDARD_LEADS": "hybridfield.leads:STANDARD_LEADS",
    "find_records": "hybridfield.archives:find_records",
    "read_records": "hybridfield.archives:read_records",
    "iter_records": "hybridfield.archives:iter_records",
    "assign_folds": "hybridfield.archives:assign_folds",
    "RecordEntry": "hybridfield.archives:RecordEntry",
    "RecordFailure": "hybridfield.archives:RecordFailure",
    "RecordQualityWarning": "hybridfield.quality:RecordQualityWarning",
    "check_plausibility": "hybridfield.quality:check_plausibility",
    "CycleStore": "hybridfield.cycle_store:CycleStore",
    "build_cycle_store": "hybridfield.cycle_store:build_cycle_store",
    "open_cycle_store": "hybridfield.cycle_store:open_cycle_store",
    "CycleStoreDataset": "hybridfield.cycle_dataset:CycleStoreDataset",
    "train_distributed": "hybridfield.distributed:train_distributed",
    "predict_folder": "hybridfield.archive_prediction:predict_folder",
    "score_delineation": "hybridfield.delineation_scores:score_delineation",
    "read_ludb_reference": "hybridfield.delineation_scores:read_ludb_reference",
    "score_ludb_record": "hybridfield.delineation_scores:score_ludb_record",
    "DelineationScore": "hybridfield.delineation_scores:DelineationScore",
}

__all__ = [
    "__version__",
    "ECG",
    "read_wfdb",
    "read_wfdb_folder",
    "canonical_lead_name",
    "segment_beats",
    "nefnet_beats",
    "BeatSegmentation",
    "BeatSet",
    "fit_heart_vector",
    "calibrate_leads",
    "predict_posterior",
    "physical_answer",
    "beat_cycles",
    "BeatCycles",
    "PosteriorLeads",
    "PopulationModel",
    "fit_population_model",
    "default_population_model",
    "interval_score",
    "coverage",
    "regression_to_the_mean",
    "PopulationRegression",
    "plot_leads",
    "plot_vector_loops",
    "plot_views",
    "plot_ecg",
    "plot_panorama",
    "plot_view_map",
    "plot_torso",
    "compare_fields",
    "plot_comparison",
    "effective_lead_vectors",
    "dipolar_fraction",
    "sphere_view_grid",
    "NefNet",
    "NefNetConfig",
    "HybridPanorama",
    "CycleSet",
    "real_cycles",
    "simulated_cycles",
    "train_hybrid",
    "fit_linear_path",
    "lead_view_angles",
    "predict_cycles",
    "prepare_record",
    "PreparedRecord",
    "PREPROCESSING",
    "STANDARD_LEADS",
    "find_records",
    "read_records",
    "iter_records",
    "assign_folds",
    "RecordEntry",
    "RecordFailure",
    "RecordQualityWarning",
    "check_plausibility",
    "CycleStore",
    "build_cycle_store",
    "open_cycle_store",
    "CycleStoreDataset",
    "train_distributed",
    "predict_folder",
    "score_delineation",
    "read_ludb_reference",
    "score_ludb_record",
    "DelineationScore",
]

__getattr__, __dir__ = lazy_namespace(__name__, _LAZY_ATTRIBUTES, __all__)
del lazy_namespace
