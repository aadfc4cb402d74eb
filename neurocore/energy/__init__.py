"""Energy and latency reports: cited chip profiles, a dense baseline, NeuroBench metrics."""
from neurocore._compat import alias_module
from neurocore.energy.baselines import BaselineResult
from neurocore.energy._estimate import STATIC_MODELS, TIMING_MODELS, BaselineComparison, EnergyReport, Term, estimate
from neurocore.energy.neurobench import neurobench_metrics
from neurocore.energy.profiles import Entry, Profile, list_profiles, load_profile

alias_module("neurocore.energy.estimate", "neurocore.energy._estimate", "neurocore.energy")

__all__ = [
           "STATIC_MODELS",
           "TIMING_MODELS",
           "BaselineComparison",
           "BaselineResult",
           "EnergyReport",
           "Entry",
           "Profile",
           "Term",
           "estimate",
           "list_profiles",
           "load_profile",
           "neurobench_metrics",
]
