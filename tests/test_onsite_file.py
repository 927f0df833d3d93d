"""Onsite energies from their own file (issue 37): ``onsite = "file"`` with
``onsite_file`` gives per-task results equal to the Python API's on the same arrays,
with the built-in sampler's V and with a couplings file without eps; every bad file or
key is refused before anything is written (exit 2, one line); eps given twice is
refused; the results file records the file and a resume against a changed one is
refused; the sampler's V is the same with and without the file."""

import contextlib
import io
import json
import signal

import h5py
import numpy as np
import pytest
from test_couplings_file import L, MC, N, couplings, write

from simglass import Lattice, Model, sample_disorder
from simglass.disorder import engine_seed
from simglass.jobfile import load_job
from simglass.options import InputError
from simglass.runner import run_job
from simglass.tasks import build_model

EPS = np.random.default_rng(4).standard_normal((3, N)) * 0.4


def job_text(model="", scan="", realizations=2, engine="mc", options=MC):
    return (f'engine = "{engine}"\nrealizations = {realizations}\n[model]\nL = {L}\nonsite = "file"\n'
            f'onsite_file = "e.h5"\n{model}\n' + (f"[scan]\n{scan}\n" if scan else "") + f"[options]\n{options}\n")


def load(tmp_path, text):
    (tmp_path / "j.toml").write_text(text)
    return load_job(tmp_path / "j.toml")


@pytest.fixture
def cli():
    """simglass.cli.main in this process: (exit code, stdout, stderr); the signal
    handlers `run` installs are put back afterwards."""
    from simglass.cli import main
    handlers = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGHUP)}

    def call(*args):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main([str(a) for a in args])
        return code, out.getvalue(), err.getvalue()
    yield call
    for s, h in handlers.items():
        signal.signal(s, h)


def mc_energy(V, eps, rz):
    from simglass import mc
    m = Model(Lattice(L), 0.0, V, eps, density=0.5)
    return mc.ground_state(m, rng=np.random.default_rng(engine_seed(0, rz)), sweeps=30, replicas=3,
                           restarts=1).energy


def test_sampled_couplings_and_an_onsite_file_match_the_api(tmp_path, cli):
    """Gaussian V from the sampler, eps[r] from the file plus the compensating shift."""
    write(tmp_path / "e.h5", eps=EPS, L_attr=L)
    job = load(tmp_path, job_text(model="compensate = true\n"))
    run_job(job, output=str(tmp_path / "j.h5"), progress=False)
    from conftest import task_datasets
    got = task_datasets(tmp_path / "j.h5")
    for rz in range(2):
        V = sample_disorder(Lattice(L), J=1.0, seed=0, realization=rz).V
        eps = EPS[rz] + 0.5 * V.sum(axis=1)
        assert float(got[f"p0000_r{rz:05d}"]["energy"]) == pytest.approx(mc_energy(V, eps, rz), rel=1e-12, abs=1e-12)
    with h5py.File(tmp_path / "j.h5", "r") as f:
        prov = json.loads(f.attrs["onsite_file"])
        assert "couplings_file" not in f.attrs
    assert prov == {"path": str((tmp_path / "e.h5").resolve()), "size": (tmp_path / "e.h5").stat().st_size,
                    "sha256": prov["sha256"]} and len(prov["sha256"]) == 64
    code, out, _ = cli("info", tmp_path / "j.h5")
    assert code == 0 and f"onsite file: {prov['path']}" in out and prov["sha256"] in out


def test_a_couplings_file_without_eps_and_an_onsite_file(tmp_path):
    V = couplings()
    write(tmp_path / "c.h5", V)
    write(tmp_path / "e.h5", eps=EPS[0])      # one eps for every realisation
    job = load(tmp_path, job_text(model='couplings = "file"\ncouplings_file = "c.h5"\n'))
    for task in job.tasks():
        m = build_model(task.params, job.seed, task.realization, job.couplings, job.onsite_source)
        np.testing.assert_array_equal(m.V, V[task.realization])
        np.testing.assert_array_equal(m.eps, EPS[0])
    assert set(job.files()) == {"couplings_file", "onsite_file"}


def test_the_sampler_draws_the_same_V_with_an_onsite_file(tmp_path):
    write(tmp_path / "e.h5", eps=EPS)
    job = load(tmp_path, job_text(model='couplings = "cavity"\nn_modes = 2\n', scan="J = [0.5, 2.0]"))
    for task in job.tasks():
        m = build_model(task.params, job.seed, task.realization, None, job.onsite_source)
        d = sample_disorder(Lattice(L), J=task.params["J"], seed=0, realization=task.realization,
                            couplings="cavity", n_modes=2)
        np.testing.assert_array_equal(m.V, d.V)
        np.testing.assert_array_equal(m.eps, EPS[task.realization])


def _bad(kind, tmp_path):
    """Write the files of a bad job; returns (job text, message)."""
    p = tmp_path / "e.h5"
    if kind == "missing":
        return job_text(), r"onsite_file '.*e\.h5': no such file"
    if kind == "not hdf5":
        p.write_text("eps = 1\n")
        return job_text(), "cannot be opened as HDF5"
    if kind == "no eps":
        write(p, V=couplings())
        return job_text(), r"no dataset 'eps' \(the onsite energies, shape \(6,\) or \(R, 6\)\); it holds: V"
    if kind == "shape":
        write(p, eps=np.zeros((2, 3, N)))
        return job_text(), r"eps has shape \(2, 3, 6\); allowed: \(6,\) or \(R, 6\)"
    if kind == "dtype":
        write(p, eps=EPS.astype(complex))
        return job_text(), "eps has dtype complex128; allowed: real numbers"
    if kind == "nan":
        e = EPS.copy()
        e[1, 2] = np.nan
        write(p, eps=e)
        return job_text(), "eps holds values that are not finite"
    if kind == "stack":
        write(p, eps=EPS)
        return job_text(realizations=4), r"realizations = 4 .*but the file's eps holds 3 realisations"
    if kind == "L":
        write(p, eps=EPS, L_attr=[6])
        return job_text(), r"made for L = \[6\], the job has L = \[2, 3\]"
    write(p, eps=EPS)
    if kind == "twice":
        write(tmp_path / "c.h5", couplings(), eps=EPS)
        return (job_text(model='couplings = "file"\ncouplings_file = "c.h5"\n'),
                r"model\.onsite_file: not allowed: couplings_file '.*c\.h5' holds eps already; give the onsite "
                "energies once")
    return {"W": (job_text(model="W = 0.5\n"), r"model\.W: not allowed with onsite = 'file'"),
            "W scanned": (job_text(scan="W = [0.0, 1.0]"), r"scan\.W: not allowed with onsite = 'file'"),
            "file scanned": (job_text(scan='onsite_file = ["e.h5", "f.h5"]').replace('onsite_file = "e.h5"\n', ""),
                             r"\[scan\] onsite_file: cannot be scanned"),
            "no onsite_file": (job_text().replace('onsite_file = "e.h5"\n', ""),
                               r"model: onsite = 'file' needs onsite_file"),
            "no onsite = file": (job_text().replace('onsite = "file"\n', ""),
                                 r"model\.onsite_file: only allowed with onsite = 'file'"),
            "'file' scanned": (job_text(scan='onsite = ["gaussian", "file"]').replace('onsite = "file"\n', ""),
                               r"\[scan\] onsite: 'file' cannot be scanned"),
            "saddle": ('engine = "saddle"\n[model]\nt = 1.0\ndensity = 0.3\nonsite = "file"\nonsite_file = "e.h5"\n',
                       "engine 'saddle' has no lattice and no onsite energies")}[kind]


KINDS = ["missing", "not hdf5", "no eps", "shape", "dtype", "nan", "stack", "L", "twice", "W", "W scanned",
         "file scanned", "no onsite_file", "no onsite = file", "'file' scanned", "saddle"]


@pytest.mark.parametrize("kind", KINDS)
def test_bad_onsite_files_and_keys_are_refused_in_one_line(tmp_path, kind):
    text, msg = _bad(kind, tmp_path)
    with pytest.raises(InputError, match=msg) as e:
        load(tmp_path, text)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("kind", ["nan", "twice"])
def test_bad_onsite_files_exit_2_and_write_nothing(tmp_path, kind, cli):
    text, _ = _bad(kind, tmp_path)
    (tmp_path / "j.toml").write_text(text)
    code, _, err = cli("run", tmp_path / "j.toml", "--output", tmp_path / "j.h5", "--quiet")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "onsite_file" in err and "Traceback" not in err
    assert not (tmp_path / "j.h5").exists()


def test_resume_against_a_changed_onsite_file_is_refused(tmp_path, cli):
    write(tmp_path / "e.h5", eps=EPS)
    (tmp_path / "j.toml").write_text(job_text(realizations=3))
    run = ("run", tmp_path / "j.toml", "--output", tmp_path / "j.h5", "--quiet")
    code, out, err = cli(*run)
    assert code == 0 and "3 tasks done" in out, err
    assert cli(*run)[1].count("3 already done") == 1        # the same file: resumes
    e = EPS.copy()
    e[2, 0] += 1e-9
    write(tmp_path / "e.h5", eps=e)
    before = (tmp_path / "j.h5").read_bytes()
    code, _, err = cli(*run)
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "onsite file" in err and "e.h5" in err and "it changed" in err
    assert (tmp_path / "j.h5").read_bytes() == before


def test_an_onsite_file_changed_after_loading_fails_the_task(tmp_path):
    from simglass.tasks import run_task
    write(tmp_path / "e.h5", eps=EPS)
    job = load(tmp_path, job_text())
    write(tmp_path / "e.h5", eps=EPS[::-1].copy())
    with pytest.raises(RuntimeError, match=r"onsite file '.*e\.h5' changed since the job was checked"):
        run_task(job, job.tasks()[0])
