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



def build_model(params: dict, seed: int, realization: int, couplings=None) -> Model:
    """The model of one parameter point and realisation: the disorder of realisation
    `realization` of root seed `seed` (simglass.disorder.sample_disorder), or with
    ``params["couplings"] == "file"`` the V (and eps) of that realisation in the checked
    couplings file ``couplings`` (a simglass.couplings_file.CouplingsSource, ``Job.couplings``);
    eps the file does not hold is drawn by simglass.disorder.onsite_energies from W and
    onsite, shifted by n Σ_j V_ij with ``compensate``.

    Raises ValueError for couplings = "file" without ``couplings``, RuntimeError when
    the file changed since it was checked."""
    lat = Lattice(params["L"], periodic=params["periodic"])
    n_particles = params["n_particles"]
    density = params["density"]
    if n_particles is None and density is None:
        density = DEFAULT_DENSITY
    if n_particles is None:
        n_particles = particle_number(density, lat.n_sites)
    if params.get("couplings") == "file":
        if couplings is None:
            raise ValueError("couplings = 'file': pass the checked file (Job.couplings: load the job with "
                             "simglass.jobfile.load_job, or parse_job with base_dir)")
        V, eps = read_realization(couplings, realization)
        if eps is None:
            eps = onsite_energies(lat.n_sites, params["W"], seed=seed, realization=realization,
                                  onsite=params["onsite"])
            if params["compensate"]:
                eps = eps + (n_particles / lat.n_sites) * V.sum(axis=1)
        return Model(lat, t=params["t"], V=V, eps=eps, n_particles=n_particles)
    dis = sample_disorder(lat, J=params["J"], W=params["W"], seed=seed, realization=realization,
                          compensate=params["compensate"], density=n_particles / lat.n_sites,
                          couplings=params["couplings"], n_modes=params["n_modes"],
                          onsite=params["onsite"])
    return Model(lat, t=params["t"], V=dis.V, eps=dis.eps, n_particles=n_particles)


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
    model = build_model(task.params, job.seed, task.realization, job.couplings)
    axis = job.options.get("continue_along", "none")
    if axis != "none":      # the same realisation at the earlier values of the scanned axis
        keys = list(job.scan)
        pos = np.unravel_index(task.point, [len(job.scan[k]) for k in keys])[keys.index(axis)]
        chain = (build_model({**task.params, axis: v}, job.seed, task.realization, job.couplings)   # one at a time
                 for v in job.scan[axis][:pos])
        return _with_n_particles(engine.run(model, rng, chain=chain, **job.options), model)
    return _with_n_particles(engine.run(model, rng, **job.options), model)


def _with_n_particles(rec, model):
    rec.setdefault("n_particles", model.n_particles)  # the N_f this task used (particle_number)
    return rec
