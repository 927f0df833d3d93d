"""One contract over every engine of the registry (issue 22): the option declarations
are the run function's keyword arguments, every option has help text, defaults pass
their own checks, a tiny job's record is stored and read back, and a rerun of it is
bit-identical."""

import inspect

import numpy as np
import pytest

from simglass.engines import ENGINES, get_engine
from simglass.options import REQUIRED

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
    eng = get_engine(name)
    run = eng.run_params if getattr(eng, "LATTICE_FREE", False) else eng.run
    params = inspect.signature(run).parameters
    kwonly = {k for k, p in params.items() if p.kind is p.KEYWORD_ONLY}
    assert kwonly == set(eng.OPTIONS), name
    assert all(params[k].default is inspect.Parameter.empty for k in kwonly), "defaults live in OPTIONS"
    for key, opt in eng.OPTIONS.items():
        assert opt.help, f"{name}.{key} has no help text"
        if opt.default is not REQUIRED and opt.default is not None:
            assert opt.convert(f"options.{key}", opt.default) == opt.default, f"{name}.{key}"


@pytest.mark.parametrize("name", sorted(ENGINES))
def test_tiny_job_record_roundtrip(name, tmp_path):
    from analysis.load import load_points
    from conftest import assert_same_results, run_cli
    model, options = TINY[name]
    dens = "" if "density" in model else "density = 0.5\n"
    job = tmp_path / "tiny.toml"
    job.write_text(f'engine = "{name}"\nseed = 1\n[model]\n{model}\n{dens}[options]\n{options}\n')
    for out in ("t.h5", "again.h5"):
        r = run_cli("run", job, "--output", tmp_path / out, "--quiet")
        assert r.returncode == 0, r.stderr
    assert_same_results(tmp_path / "t.h5", tmp_path / "again.h5")  # a rerun is bit-identical
    # issue 36: the group layout of earlier versions stores the same per-task numbers
    from simglass.jobfile import load_job
    from simglass.runner import run_job
    run_job(load_job(job), output=str(tmp_path / "groups.h5"), progress=False, layout="groups")
    assert_same_results(tmp_path / "t.h5", tmp_path / "groups.h5")
    _, points = load_points(tmp_path / "t.h5", engine=name)
    assert len(points) == 1 and len(points[0].records) == 1
    rec = points[0].records[0]
    assert rec, name
    if not getattr(get_engine(name), "LATTICE_FREE", False):
        assert "n_particles" in rec
    for flag in getattr(get_engine(name), "FLAGS", {}):
        assert flag in rec, f"{name}: FLAGS names {flag!r}, not in the record"
    derived = getattr(get_engine(name), "DERIVED", {})
    if derived:                 # a file written before these entries existed reads the same
        import h5py
        with h5py.File(tmp_path / "t.h5", "a") as f:      # the columns (simglass.column_layout)
            for key in derived:
                del f["columns"][key]
        _, old = load_points(tmp_path / "t.h5", engine=name)
        for key, (source, _) in derived.items():
            assert key in rec and source in rec
            assert old[0].records[0][key] == pytest.approx(rec[key], rel=1e-12, abs=1e-15), key


def test_glass_order_of_uniform_and_classical_states():
    from ed.hartree_engine import glass_order
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
