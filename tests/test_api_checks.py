"""Every public entry point refuses what it cannot treat, with TypeError or ValueError
naming the argument (issue 33, item 5): wrong types, out-of-range values, complex
couplings, a t > 0 model handed to the classical Monte Carlo, unusable seeds."""
import numpy as np
import pytest

from simglass import ed
from simglass import mc
from simglass import Lattice, Model, sample_disorder
from simglass import meanfield

LAT = Lattice((2, 2, 2))
D = sample_disorder(LAT, J=2.0, seed=1)


def _model(t=1.0, **kw):
    return Model(LAT, t, D.V, D.eps, **({"density": 0.5} | kw))


CASES = [
    # (entry point, call, argument named in the error)
    ("Model", lambda: Model(LAT, 1.0, D.V + 1e-3j, D.eps, density=0.5), "V"),
    ("Model", lambda: Model(LAT, 1.0, D.V, D.eps.astype(complex), density=0.5), "eps"),
    ("Model", lambda: Model(LAT, 1.0, D.V.astype(str), D.eps, density=0.5), "V"),
    ("Model", lambda: Model(LAT, -1.0, D.V, D.eps, density=0.5), "t"),
    ("Model", lambda: Model(LAT, 1.0, D.V, D.eps, density=1.5), "density"),
    ("Model", lambda: Model(LAT, 1.0, D.V, D.eps, n_particles=9), "n_particles"),
    ("Model", lambda: Model("2x2x2", 1.0, D.V, D.eps, density=0.5), "lattice"),
    ("Lattice", lambda: Lattice((2, 0, 2)), "L"),
    ("sample_disorder", lambda: sample_disorder(LAT, J=1.0, seed=-1), "seed"),
    ("sample_disorder", lambda: sample_disorder(LAT, J=float("nan"), seed=1), "J"),
    ("sample_disorder", lambda: sample_disorder(LAT, J=1.0, W=-1.0, seed=1), "W"),
    ("simglass.mc.ground_state", lambda: mc.ground_state(_model(t=1.0), seed=1), "t"),
    ("mc.metropolis", lambda: mc.metropolis(_model(t=1.0), np.random.default_rng(1), 0.5, 2), "t"),
    ("mc.anneal", lambda: mc.anneal(_model(t=1.0), np.random.default_rng(1), [1.0, 0.5]), "t"),
    ("mc.metropolis", lambda: mc.metropolis(_model(t=0.0), np.random.default_rng(1), -0.5, 2), "T"),
    ("simglass.mc.ground_state", lambda: mc.ground_state(_model(t=0.0), seed=-1), "seed"),
    ("simglass.mc.ground_state", lambda: mc.ground_state(_model(t=0.0), seed=1.5), "seed"),
    ("simglass.mc.ground_state", lambda: mc.ground_state(_model(t=0.0), rng=3), "rng"),
    ("simglass.mc.ground_state", lambda: mc.ground_state(_model(t=0.0), seed=1, sweeps=0), "sweeps"),
    ("simglass.mc.ground_state", lambda: mc.ground_state(_model(t=0.0), seed=1, method="nosuch"), "method"),
    ("simglass.mc.ground_state", lambda: mc.ground_state("model", seed=1), "model"),
    ("ed.hartree_solve", lambda: ed.hartree_solve(_model(), seed=-1), "seed"),
    ("ed.hartree_solve", lambda: ed.hartree_solve(_model(), rng="x"), "rng"),
    ("ed.hartree_solve", lambda: ed.hartree_solve(_model(), seed=1, tol=-1.0), "tol"),
    ("ed.hartree_solve", lambda: ed.hartree_solve(_model(), seed=1, starts=["nosuch"]), "starts"),
    ("ed.hartree_solve", lambda: ed.hartree_solve(_model(), seed=1, init_density=np.ones(3)), "init_density"),
    ("ed.exact_ground_state", lambda: ed.exact_ground_state(_model(), n_particles=9), "n_particles"),
    ("ed.exact_ground_state", lambda: ed.exact_ground_state(_model(), path="nosuch"), "path"),
    ("ed.exact_ground_state", lambda: ed.exact_ground_state(_model(), tol=float("inf")), "tol"),
    ("ed.exact_ground_state", lambda: ed.exact_ground_state("model"), "model"),
    ("ed.thouless_number", lambda: ed.thouless_number(_model(), np.full(8, 0.5), fraction=2.0), "fraction"),
    ("meanfield.critical_coupling", lambda: meanfield.critical_coupling(1.5, 1.0), "density"),
    ("meanfield.chemical_potential", lambda: meanfield.chemical_potential(-0.1, 1.0), "density"),
]


@pytest.mark.parametrize("name,call,arg", CASES, ids=[f"{c[0]}-{c[2]}-{i}" for i, c in enumerate(CASES)])
def test_public_api_refuses_naming_the_argument(name, call, arg):
    with pytest.raises((TypeError, ValueError)) as e:
        call()
    assert arg in str(e.value), f"{name}: {e.value!r} does not name {arg!r}"
