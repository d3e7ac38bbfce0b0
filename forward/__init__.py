"""forward: dipole sources, volume conductors, lead fields, VCG transforms and heart-vector inverse.

Units everywhere: positions in metres, conductivity in S/m, dipole moments in mA*m, potentials in
mV (mA*m / (S/m * m^2) = mV). Body frame: origin at the heart's electrical centre, x anterior,
y the subject's left, z superior. forward imports geometry and never hybridfield.
"""

from .analytic import fibonacci_sphere, infinite_medium_lead_field, infinite_medium_potential, sphere_potential
from .bem import BoundaryElementModel, check_sources_inside, make_bem
from .calibration import LeadCalibration, calibrate_leads
from .estimators import GaussianHeartVector, least_squares_heart_vector, smooth_heart_vector, tikhonov_heart_vector
from .leads import (
    CONDUCTORS,
    DEFAULT_SIGMA,
    LEAD_SYSTEMS,
    image_surface,
    lead_definition,
    lead_matrix,
    lead_names,
    lead_vectors,
    project_heart_vector,
    torso_bem,
    view_lead_vectors,
)
from .prior import PHASE_NAMES, HeartVectorPrior, fit_heart_vector_prior, phase_labels_from_annotations
from .simulate import CONDITIONS, PEAK_QRS_MOMENT, HeartbeatAnnotations, simulate_heart_vector
from .vcg import (
    DOWER,
    FRANK_LEADS,
    FRANK_TO_BODY_MATRIX,
    INVERSE_DOWER,
    KORS,
    VCG_TRANSFORM_LEADS,
    body_to_frank,
    compare_lead_vectors,
    derive_limb_and_augmented,
    frank_to_body,
    model_dower,
    model_transform,
    twelve_lead_to_vcg,
    vcg_to_twelve_lead,
)

__all__ = [
    "CONDUCTORS",
    "DEFAULT_SIGMA",
    "LEAD_SYSTEMS",
    "image_surface",
    "lead_definition",
    "lead_matrix",
    "lead_names",
    "lead_vectors",
    "project_heart_vector",
    "torso_bem",
    "view_lead_vectors",
    "BoundaryElementModel",
    "CONDITIONS",
    "DOWER",
    "FRANK_LEADS",
    "FRANK_TO_BODY_MATRIX",
    "HeartbeatAnnotations",
    "INVERSE_DOWER",
    "KORS",
    "PEAK_QRS_MOMENT",
    "VCG_TRANSFORM_LEADS",
    "body_to_frank",
    "check_sources_inside",
    "compare_lead_vectors",
    "derive_limb_and_augmented",
    "fibonacci_sphere",
    "frank_to_body",
    "infinite_medium_lead_field",
    "infinite_medium_potential",
    "make_bem",
    "model_dower",
    "model_transform",
    "simulate_heart_vector",
    "sphere_potential",
    "twelve_lead_to_vcg",
    "vcg_to_twelve_lead",
    "PHASE_NAMES",
    "GaussianHeartVector",
    "HeartVectorPrior",
    "LeadCalibration",
    "calibrate_leads",
    "fit_heart_vector_prior",
    "least_squares_heart_vector",
    "phase_labels_from_annotations",
    "smooth_heart_vector",
    "tikhonov_heart_vector",
]
