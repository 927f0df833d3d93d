"""Couplings (and onsite energies) from a file in job files (issue 37): a run on a file
gives the per-task energies of the Python API on the same arrays, every bad file or key
is refused before anything is written (exit 2, one line), a resume against a changed
file is refused, and the built-in sampler is unchanged."""

import h5py
import numpy as np
import pytest
from conftest import run_cli

from simglass import Lattice, Model, sample_disorder
from simglass.disorder import engine_seed, onsite_energies
from simglass.jobfile import load_job, parse_job
from simglass.options import InputError

L, N = [2, 3], 6


def couplings(R=3, N=N, seed=5, modes=2):
    """A stack of R symmetric zero-diagonal V (R, N, N) from random mode functions."""
    g = np.random.default_rng(seed).standard_normal((R, N, modes))
    V = np.einsum("ril,rjl->rij", g, g) / np.sqrt(N * modes)
    for r in range(R):
        np.fill_diagonal(V[r], 0.0)
    return V


def write(path, V=None, eps=None, L_attr=None, **extra):
    with h5py.File(path, "w") as f:
        if V is not None:
            f["V"] = V
        if eps is not None:
            f["eps"] = eps
        if L_attr is not None:
            f.attrs["L"] = L_attr
        for k, v in extra.items():
            f[k] = v
    return path


def job_text(engine, realizations=2, model="", scan="", options=""):
    t = "t = 1.0\n" if engine == "hartree" and "t = [" not in scan else ""
    return (f'engine = "{engine}"\nrealizations = {realizations}\n[model]\nL = {L}\n{t}couplings = "file"\n'
            f'couplings_file = "c.h5"\n{model}\n' + (f"[scan]\n{scan}\n" if scan else "")
            + f"[options]\n{options}\n")


def run(tmp_path, text, name="j"):
    job = tmp_path / f"{name}.toml"
    job.write_text(text)
    return run_cli("run", job, "--output", tmp_path / f"{name}.h5", "--quiet")


def energies(path):
    from conftest import task_datasets
    return {k: float(d["energy"]) for k, d in task_datasets(path).items()}


HARTREE = "starts = [\"random\"]\nwarmup = 2\n"
MC = "sweeps = 30\nreplicas = 3\nrestarts = 1\n"


def test_hartree_run_on_a_file_matches_the_api(tmp_path):
    from simglass import ed
    from simglass.ed.hartree_engine import OPTIONS
    from simglass.options import defaults
    V = couplings()
    eps = np.random.default_rng(9).standard_normal((3, N)) * 0.3
    write(tmp_path / "c.h5", V, eps, L_attr=L)
    r = run(tmp_path, job_text("hartree", options=HARTREE, scan="t = [0.5, 1.0]"))
    assert r.returncode == 0, r.stderr
    got = energies(tmp_path / "j.h5")
    opts = {**defaults(OPTIONS), "starts": ["random"], "warmup": 2}
    solver = {k: opts[k] for k in ("tol", "max_iter", "method", "smearing", "classical_sweeps", "warmup")}
    assert len(got) == 4
    for p, t in enumerate([0.5, 1.0]):
        for rz in range(2):
            m = Model(Lattice(L), t, V[rz], eps[rz], density=0.5)
            h = ed.hartree_solve(m, rng=np.random.default_rng(engine_seed(0, rz)), starts=("random",), **solver)
            assert got[f"p{p:04d}_r{rz:05d}"] == pytest.approx(h.energy, rel=1e-10, abs=1e-12)


def test_mc_run_on_a_file_matches_the_api(tmp_path):
    """One V for every realisation, eps drawn from W: the disorder comes from eps only."""
    from simglass import mc
    V = couplings(R=1)[0]
    write(tmp_path / "c.h5", V)
    r = run(tmp_path, job_text("mc", realizations=2, model="W = 0.5\n", options=MC))
    assert r.returncode == 0, r.stderr
    got = energies(tmp_path / "j.h5")
    for rz in range(2):
        eps = onsite_energies(N, 0.5, seed=0, realization=rz)
        m = Model(Lattice(L), 0.0, V, eps, density=0.5)
        gs = mc.ground_state(m, rng=np.random.default_rng(engine_seed(0, rz)), sweeps=30, replicas=3, restarts=1)
        assert got[f"p0000_r{rz:05d}"] == pytest.approx(gs.energy, rel=1e-12, abs=1e-12)
    with h5py.File(tmp_path / "j.h5", "r") as f:
        import json
        prov = json.loads(f.attrs["couplings_file"])
    assert prov["path"] == str((tmp_path / "c.h5").resolve()) and len(prov["sha256"]) == 64
    assert prov["size"] == (tmp_path / "c.h5").stat().st_size
    info = run_cli("info", tmp_path / "j.h5")
    assert prov["sha256"] in info.stdout


def _bad_file(kind, path):
    V = couplings()
    if kind == "missing":
        return "no such file"
    if kind == "not hdf5":
        path.write_text("V = 1\n")
        return "cannot be opened as HDF5"
    if kind == "no V":
        write(path, eps=np.zeros(N))
        return "no dataset 'V'"
    if kind == "shape":
        write(path, couplings(N=5))
        return r"V has shape \(3, 5, 5\)"
    if kind == "L":
        write(path, V, L_attr=[3, 2])
        return r"made for L = \[3, 2\]"
    if kind == "asymmetric":
        V[1, 0, 1] += 1e-6
        write(path, V)
        return r"V\[1\]: V is not symmetric"
    if kind == "diagonal":
        V[0, 2, 2] = 0.1
        write(path, V)
        return "nonzero diagonal"
    if kind == "nan":
        V[0, 0, 1] = V[0, 1, 0] = np.nan
        write(path, V)
        return "not finite"
    if kind == "complex":
        write(path, V.astype(complex))
        return "dtype complex128; allowed: real numbers"
    if kind == "eps shape":
        write(path, V, eps=np.zeros((3, N + 1)))
        return r"eps has shape \(3, 7\)"
    if kind == "eps nan":
        write(path, V, eps=np.full(N, np.inf))
        return "eps holds values that are not finite"
    if kind == "g shape":
        write(path, V, g=np.ones((3, N + 1, 2)))
        return r"g has shape \(3, 7, 2\); allowed: \(6, M\) or \(3, 6, M\), V's R, M >= 1 modes"
    if kind == "g stack":
        write(path, V[0], g=np.ones((3, N, 2)))
        return r"g has shape \(3, 6, 2\); allowed: \(6, M\) \(V is one \(N, N\)\)"
    if kind == "g nan":
        g = np.ones((3, N, 2))
        g[1, 0, 0] = np.nan
        write(path, V, g=g)
        return "g holds values that are not finite"
    if kind == "stack":
        write(path, V[:1])
        return r"realizations = 2 .*but the file's V holds 1 realisations.*realizations <= 1"
    raise AssertionError(kind)


KINDS = ["missing", "not hdf5", "no V", "shape", "L", "asymmetric", "diagonal", "nan", "complex", "eps shape",
         "eps nan", "g shape", "g stack", "g nan", "stack"]


@pytest.mark.parametrize("kind", KINDS)
def test_bad_files_are_refused_in_one_line(tmp_path, kind):
    msg = _bad_file(kind, tmp_path / "c.h5")
    with pytest.raises(InputError, match=msg) as e:
        (tmp_path / "j.toml").write_text(job_text("mc", options=MC))
        load_job(tmp_path / "j.toml")
    assert "c.h5" in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize("kind", ["missing", "asymmetric", "stack"])
def test_bad_files_exit_2_and_write_nothing(tmp_path, kind):
    _bad_file(kind, tmp_path / "c.h5")
    r = run(tmp_path, job_text("mc", options=MC))
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "couplings_file" in r.stderr and "c.h5" in r.stderr
    assert not (tmp_path / "j.h5").exists()


@pytest.mark.parametrize("model,scan,msg", [
    ("J = 2.0\n", "", r"model\.J: not allowed with couplings = 'file'"),
    ("", "J = [1.0, 2.0]", r"scan\.J: not allowed"),
    ("W = 0.5\n", "", r"model\.W: not allowed: couplings_file .* holds eps"),
    ("compensate = true\n", "", r"model\.compensate: not allowed"),
    ('onsite = "box"\n', "", r"model\.onsite: not allowed"),
    ("", 'couplings_file = ["c.h5", "d.h5"]', r"couplings_file: cannot be scanned"),
])
def test_keys_that_make_no_sense_with_a_file(tmp_path, model, scan, msg):
    write(tmp_path / "c.h5", couplings(), eps=np.zeros((3, N)))
    text = job_text("mc", model=model, scan=scan, options=MC)
    if "couplings_file = [" in scan:
        text = text.replace('couplings_file = "c.h5"\n', "")
    (tmp_path / "j.toml").write_text(text)
    with pytest.raises(InputError, match=msg):
        load_job(tmp_path / "j.toml")


def test_couplings_and_couplings_file_go_together():
    base = f'engine = "mc"\n[model]\nL = {L}\n'
    with pytest.raises(InputError, match="needs couplings_file"):
        parse_job(base + 'couplings = "file"\n')
    with pytest.raises(InputError, match=r"couplings_file: only allowed with couplings = 'file'"):
        parse_job(base + 'couplings_file = "c.h5"\n')
    with pytest.raises(InputError, match=r"\[scan\] couplings: 'file' cannot be scanned"):
        parse_job(base + '[scan]\ncouplings = ["gaussian", "file"]\n')
    with pytest.raises(InputError, match="engine 'saddle' has no lattice"):
        parse_job('engine = "saddle"\n[model]\nt = 1.0\ndensity = 0.3\ncouplings = "file"\ncouplings_file = "c.h5"\n')


def test_eps_drawn_with_compensate_and_absolute_path(tmp_path):
    """Without eps in the file, W, onsite and compensate act as for the built-in sampler;
    an absolute couplings_file is taken as it is."""
    from simglass.tasks import build_model
    V = couplings()
    write(tmp_path / "c.h5", V)
    sub = tmp_path / "jobs"
    sub.mkdir()
    text = job_text("mc", model='W = 0.4\nonsite = "box"\ncompensate = true\n', options=MC)
    (sub / "j.toml").write_text(text.replace('"c.h5"', f'"{tmp_path / "c.h5"}"'))
    job = load_job(sub / "j.toml")
    task = job.tasks()[1]
    m = build_model(task.params, job.seed, task.realization, job.couplings)
    want = onsite_energies(N, 0.4, seed=0, realization=1, onsite="box") + 0.5 * V[1].sum(axis=1)
    np.testing.assert_allclose(m.eps, want, rtol=0, atol=1e-15)
    np.testing.assert_array_equal(m.V, V[1])


def test_resume_against_a_changed_file_is_refused(tmp_path):
    V = couplings()
    write(tmp_path / "c.h5", V)
    text = job_text("mc", realizations=3, options=MC)
    r = run(tmp_path, text)
    assert r.returncode == 0, r.stderr
    again = run(tmp_path, text)     # the same file: resumes, nothing left to do
    assert again.returncode == 0 and "3 already done" in again.stdout
    V[2] *= 1.5
    write(tmp_path / "c.h5", V)
    before = (tmp_path / "j.h5").read_bytes()
    r = run(tmp_path, text)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "couplings file" in r.stderr and "c.h5" in r.stderr and "changed" in r.stderr
    assert (tmp_path / "j.h5").read_bytes() == before


def test_a_file_changed_after_loading_fails_the_task(tmp_path):
    from simglass.tasks import run_task
    write(tmp_path / "c.h5", couplings())
    (tmp_path / "j.toml").write_text(job_text("mc", options=MC))
    job = load_job(tmp_path / "j.toml")
    write(tmp_path / "c.h5", couplings(seed=6))
    with pytest.raises(RuntimeError, match="changed since the job was checked"):
        run_task(job, job.tasks()[0])


def test_built_in_sampler_unchanged():
    """The onsite draw was factored out: the sampler's numbers stay those of before
    (the same standard normals after the couplings)."""
    d = sample_disorder(Lattice(L), J=1.0, W=0.5, seed=3, realization=2, onsite="box")
    rng = np.random.default_rng(np.random.SeedSequence(3, spawn_key=(2,)))
    rng.standard_normal(N * (N - 1) // 2)
    np.testing.assert_array_equal(d.eps, 0.5 * (rng.random(N) - 0.5))


def test_tutorial_runs_at_a_tiny_size(tmp_path):
    """docs/tutorials/own_couplings.md: the example script writes a file (V and the mode
    functions g) the tutorial's job files (as pasted, at L = 3 and a few sweeps) run on,
    `simglass analyze` (with the cavity-mode analysis for mc) and `simglass info` read
    their results, and analysis.cavity_modes reads both."""
    import re
    import subprocess
    import sys
    from pathlib import Path
    root = Path(__file__).resolve().parents[1]
    text = (root / "docs" / "tutorials" / "own_couplings.md").read_text()
    blocks = re.findall(r"```toml\n(.*?)```", text, re.S)
    assert len(blocks) == 2
    r = subprocess.run([sys.executable, str(root / "examples" / "cavity_couplings.py"), "--L", "3", "--modes", "3",
                        "--realizations", "2", "--out", str(tmp_path / "cavity.h5")], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    with h5py.File(tmp_path / "cavity.h5", "r") as f:
        V = f["V"][()]
        assert V.shape == (2, 9, 9) and list(f.attrs["L"]) == [3, 3] and f["g"].shape == (2, 9, 3)
        g = f["g"][()]
    off = ~np.eye(9, dtype=bool)
    np.testing.assert_allclose(V[:, off], np.einsum("ril,rjl->rij", g, g)[:, off] / np.sqrt(9 * 3), rtol=1e-12)
    assert np.array_equal(V, V.transpose(0, 2, 1)) and not V[:, range(9), range(9)].any()
    for name, block in zip(["cavity_hartree", "cavity_mc"], blocks):
        small = block.replace("L = [6, 6]", "L = [3, 3]").replace("realizations = 8", "realizations = 2")
        small = small.replace("sweeps = 400", "sweeps = 20\nreplicas = 3\nrestarts = 1").replace("modes = 6", "modes = 3")
        assert small.count("[3, 3]") == 1 and "realizations = 2" in small
        (tmp_path / f"{name}.toml").write_text(small)
        out = tmp_path / "results" / f"{name}.h5"
        r = run_cli("run", tmp_path / f"{name}.toml", "--quiet", cwd=tmp_path)
        assert r.returncode == 0 and out.exists(), r.stderr
        r = run_cli("analyze", out, "--out", tmp_path / name, cwd=tmp_path)
        assert r.returncode == 0, r.stdout + r.stderr
        assert ("1 load M/N" in r.stdout) == (name == "cavity_mc"), r.stdout    # the cavity-mode table
    info = run_cli("info", out).stdout        # of the mc job
    assert "cavity.h5 (" in info and "3 mode functions g" in info
    assert (tmp_path / "cavity_mc" / "cavity_modes.csv").read_text().splitlines()[1].startswith("9,3,0.33333,2,")
    from simglass.analysis import cavity_modes      # the tutorial's command reads the Hartree file too
    hp = cavity_modes.hartree_points(tmp_path / "results" / "cavity_hartree.h5")
    assert hp and all((h.N, h.M) == (9, 3.0) for h in hp)


def test_cavity_analysis_takes_M_from_the_mode_functions(tmp_path, capsys):
    """analysis.cavity_modes on couplings from a file: with the mode functions g in the
    file the results record M, and the analysis treats the point as M modes, not as the
    Gaussian limit; without g it refuses in one line (exit 2 from its command) and the
    report's cavity rows say what is missing."""
    import json
    from simglass.analysis import cavity_modes, checks
    from simglass.runner import run_job
    g = np.random.default_rng(3).standard_normal((2, N, 2))
    V = np.einsum("ril,rjl->rij", g, g) / np.sqrt(N * 2)
    V[:, range(N), range(N)] = 0.0
    text = job_text("mc", options=MC.replace("restarts = 1", "restarts = 2") + "modes = 2\n")
    out = {}
    for name, extra in (("with_g", {"g": g}), ("without_g", {})):
        (tmp_path / name).mkdir()
        write(tmp_path / name / "c.h5", V, **extra)
        (tmp_path / name / "j.toml").write_text(text)
        out[name] = tmp_path / name / "j.h5"
        run_job(load_job(tmp_path / name / "j.toml"), output=str(out[name]), progress=False)
    with h5py.File(out["with_g"], "r") as f:
        assert json.loads(f.attrs["couplings_file"])["n_modes"] == 2
    assert cavity_modes.file_modes(out["with_g"]) == 2 and cavity_modes.file_modes(out["without_g"]) is None
    (p,) = cavity_modes.points([out["with_g"]])
    assert (p.N, p.M, p.realizations) == (N, 2.0, 2) and p.load == pytest.approx(1 / 3)
    assert np.all((p.omega1 > 0) & (p.omega1 <= p.omega_M + 1e-12)) and np.all(np.isfinite(p.kappa))
    with pytest.raises(cavity_modes.NoModes, match=r"j\.h5: its couplings file held no mode functions g") as e:
        cavity_modes.points([out["without_g"]])
    assert "\n" not in str(e.value)
    assert cavity_modes.main([str(out["without_g"])]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "dataset g, shape (N, M) or (R, N, M)" in err
    rows = checks.cavity_rows([out["without_g"]])
    assert all(r.value is None and "no mode functions g" in r.note for r in rows)


def test_first_realization_counts_against_the_stack(tmp_path):
    """A stack of R realisations admits first_realization + realizations <= R: the rest
    of a job (first_realization = 1, realizations = 1) reads the stack's second V."""
    write(tmp_path / "c.h5", couplings(R=2))
    text = job_text("mc", realizations=2, options=MC).replace("realizations = 2", "realizations = 2\nfirst_realization = 1")
    (tmp_path / "j.toml").write_text(text)
    with pytest.raises(InputError, match=r"realizations = 3 \(first_realization \+ realizations\).*holds 2 "):
        load_job(tmp_path / "j.toml")
    (tmp_path / "j.toml").write_text(text.replace("realizations = 2\n", "realizations = 1\n"))
    job = load_job(tmp_path / "j.toml")
    assert [t.realization for t in job.tasks()] == [1]
