"""One contract over every engine of the registry (issue 22), simglass.contract: the
option declarations are the run function's keyword arguments, every option has help
text, defaults pass their own checks, a tiny job's record is stored as OUTPUTS declares
and read back, and a rerun of it is bit-identical.  Plugins run the same checks on their
engines (issue 37; tests/test_plugins.py)."""

import numpy as np
import pytest

from simglass.contract import check_declarations, check_tiny_job
from simglass.engines import ENGINES, get_engine

TINY = {
    "disorder": ("L = [3, 3]", "n_configs = 2"),
    "mc": ("L = [8]", "sweeps = 4\nreplicas = 2\nrestarts = 1"),
    "thermal": ("L = [8]", "sweeps = 32\nreplicas = 2"),
    "hartree": ("L = [4, 4]\nt = 1.0", 'starts = ["uniform"]'),
    "ed": ("L = [2, 3]\nt = 1.0", 'hartree_starts = ["uniform"]'),
    "stiffness": ("L = [2, 3]\nt = 1.0", 'hartree_starts = ["uniform"]\nreconverge = false'),
    "saddle": ("t = 1.0\ndensity = 0.3", "n_q = 4\nn_k = 4\nn_omega = 8"),
}


def test_every_engine_has_a_tiny_case():
    assert set(TINY) == set(ENGINES)


@pytest.mark.parametrize("name", sorted(ENGINES))
def test_options_are_the_run_arguments(name):
    check_declarations(name)


@pytest.mark.parametrize("name", sorted(ENGINES))
def test_tiny_job_record_roundtrip(name, tmp_path):
    """The contract a plugin's tests run on its engine too (docs/writing_an_engine.md)."""
    rec = check_tiny_job(name, *TINY[name], tmp_path)
    assert rec and (getattr(get_engine(name), "LATTICE_FREE", False) or "n_particles" in rec), name
    # issue 36: the group layout of earlier versions stores the same per-task numbers
    from conftest import assert_same_results
    from simglass.jobfile import load_job
    from simglass.runner import run_job
    job = tmp_path / f"{name}_tiny.toml"        # written by check_tiny_job, with its first results file
    run_job(load_job(job), output=str(tmp_path / "groups.h5"), progress=False, layout="groups")
    assert_same_results(tmp_path / "groups.h5", tmp_path / f"{name}_tiny_1.h5")


def test_glass_order_of_uniform_and_classical_states():
    from simglass.ed.hartree_engine import glass_order
    assert glass_order(np.full(64, 0.3)) == pytest.approx(0.0, abs=1e-15)
    occ = np.zeros(64)
    occ[:16] = 1.0
    assert glass_order(occ) == pytest.approx(1.0)
    assert glass_order(0.25 + 0.5 * (occ - 0.25)) == pytest.approx(0.25)


def test_adapter_modules_are_named_after_their_engines():
    """Issue 22: engine NAME lives in <package>.NAME_engine, so the registry is the only
    list of engines and a module's name says which engine it adapts."""
    from simglass.engines import ENGINES
    for name, module in ENGINES.items():
        assert module.rsplit(".", 1)[-1] == f"{name}_engine", (name, module)


def test_start_overlaps_and_distinct_states():
    """The multiplicity outputs of the hartree engine: the overlap of glass profiles
    (1 the same, -1 the particle-hole mirror δn -> -δn, NaN for the uniform state) and
    the count of different states (max |Δn| above DISTINCT)."""
    from simglass.ed.hartree_engine import DISTINCT, distinct_states, start_overlaps
    rng = np.random.default_rng(3)
    a = rng.random(64)
    b = rng.random(64)
    mirror = 2 * a.mean() - a
    q = start_overlaps(a, [a, mirror, np.full(64, a.mean()) + 1e-9 * rng.standard_normal(64), b])
    assert q[0] == pytest.approx(1.0) and q[1] == pytest.approx(-1.0) and np.isnan(q[2])
    assert np.isnan(start_overlaps(np.full(64, 0.3), [a])).all()      # the uniform kept state
    db, da = b - b.mean(), a - a.mean()
    assert q[3] == pytest.approx(db @ da / np.sqrt((db @ db) * (da @ da)))
    assert distinct_states([a, a + 0.5 * DISTINCT, b, mirror]) == 3
    assert distinct_states([]) == 0


def test_multiplicity_columns_of_a_record():
    """analysis.multiplicity.columns: the other states are the converged, stable starts
    farther than DISTINCT from the kept one; their largest |overlap| and lowest E_H gap."""
    from simglass.analysis.multiplicity import columns
    rec = {"density": np.full(10, 0.5), "energy": -1.0, "distinct_solutions": 3,
           "starts_overlap": np.array([1.0, -0.4, 0.7, 0.9]), "starts_distance": np.array([0.0, 0.3, 0.2, 0.1]),
           "starts_energy": np.array([-1.0, -0.5, -0.8, -0.9]),
           "starts_converged": np.array([True, True, True, False]),
           "starts_stability": np.array([0.1, 0.1, 0.1, 0.1])}
    c = columns(rec)
    assert c["distinct_solutions"] == 3
    assert c["other_overlap_max"] == pytest.approx(0.7)           # the unconverged 0.9 is left out
    assert c["other_energy_min"] == pytest.approx((-0.8 + 1.0) / 10)
    assert columns({**rec, "starts_overlap": np.array([1.0])}) == {}
