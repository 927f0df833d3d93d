"""From a task's parameters to a model, and running one task through its engine."""

from __future__ import annotations

import numpy as np

from .couplings_file import read_realization
from .disorder import engine_seed, onsite_energies, sample_disorder
from .engines import get_engine
from .jobfile import DEFAULT_DENSITY, Job, Task
from .lattice import Lattice
from .model import Model, particle_number

__all__ = ["build_model", "run_task"]



def build_model(params: dict, seed: int, realization: int, couplings=None, onsite_source=None) -> Model:
    """The model of one parameter point and realisation: the disorder of realisation
    `realization` of root seed `seed` (simglass.disorder.sample_disorder), or with
    ``params["couplings"] == "file"`` the V (and eps) of that realisation in the checked
    couplings file ``couplings`` (a simglass.couplings_file.CouplingsSource, ``Job.couplings``).

    The onsite energies: the couplings file's eps, used as it is; else with
    ``params["onsite"] == "file"`` eps of that realisation in the checked onsite file
    ``onsite_source`` (``Job.onsite_source``), else drawn from W and onsite (by
    sample_disorder, or simglass.disorder.onsite_energies for file couplings); the latter
    two shifted by n Σ_j V_ij with ``compensate``.  The built-in sampler draws V (and
    its unused onsite numbers) the same way whether eps comes from a file or not.

    Raises ValueError for couplings = "file" (onsite = "file") without ``couplings``
    (``onsite_source``), RuntimeError when a file changed since it was checked."""
    lat = Lattice(params["L"], periodic=params["periodic"])
    n_particles = params["n_particles"]
    density = params["density"]
    if n_particles is None and density is None:
        density = DEFAULT_DENSITY
    if n_particles is None:
        n_particles = particle_number(density, lat.n_sites)
    for key, source in (("couplings", couplings), ("onsite", onsite_source)):
        if params.get(key) == "file" and source is None:
            attr = "couplings" if key == "couplings" else "onsite_source"
            raise ValueError(f"{key} = 'file': pass the checked file (Job.{attr}: load the job with "
                             "simglass.jobfile.load_job, or parse_job with base_dir)")
    eps_file = read_realization(onsite_source, realization)[1] if params.get("onsite") == "file" else None
    if params.get("couplings") == "file":
        V, eps = read_realization(couplings, realization)
        if eps is None:
            eps = eps_file if eps_file is not None else onsite_energies(
                lat.n_sites, params["W"], seed=seed, realization=realization, onsite=params["onsite"])
            if params["compensate"]:
                eps = eps + (n_particles / lat.n_sites) * V.sum(axis=1)
        return Model(lat, t=params["t"], V=V, eps=eps, n_particles=n_particles)
    onsite = params["onsite"] if eps_file is None else "gaussian"   # W = 0 with a file: eps is the shift only
    dis = sample_disorder(lat, J=params["J"], W=params["W"], seed=seed, realization=realization,
                          compensate=params["compensate"], density=n_particles / lat.n_sites,
                          couplings=params["couplings"], n_modes=params["n_modes"],
                          onsite=onsite)
    eps = dis.eps if eps_file is None else eps_file + dis.eps
    return Model(lat, t=params["t"], V=dis.V, eps=eps, n_particles=n_particles)


def run_task(job: Job, task: Task) -> dict:
    """Run one task; returns the engine's record.  Exceptions propagate to the runner.

    With the engine option ``continue_along`` = a scanned key, the engine also gets
    ``chain``: an iterator over the models of the same realisation at the values of that
    key before this task's position in the scan list (in order; built one at a time), to
    continue its solution along them."""
    engine = get_engine(job.engine)
    rng = np.random.default_rng(engine_seed(job.seed, task.realization))
    if getattr(engine, "LATTICE_FREE", False):  # no lattice, no disorder: the parameters only
        return engine.run_params(task.params, rng, **job.options)
    model = build_model(task.params, job.seed, task.realization, job.couplings, job.onsite_source)
    axis = job.options.get("continue_along", "none")
    if axis != "none":      # the same realisation at the earlier values of the scanned axis
        keys = list(job.scan)
        pos = np.unravel_index(task.point, [len(job.scan[k]) for k in keys])[keys.index(axis)]
        chain = (build_model({**task.params, axis: v}, job.seed, task.realization, job.couplings,
                              job.onsite_source)   # one at a time
                 for v in job.scan[axis][:pos])
        return _with_n_particles(engine.run(model, rng, chain=chain, **job.options), model)
    return _with_n_particles(engine.run(model, rng, **job.options), model)


def _with_n_particles(rec, model):
    rec.setdefault("n_particles", model.n_particles)  # the N_f this task used (particle_number)
    return rec
