"""The mc analysis: alpha fit on samples of a known law, SK extrapolation on exact data,
and the engine -> runner -> HDF5 -> analysis chain end to end."""
import numpy as np
import pytest

from analysis import coulomb_gap, sk_energy
from conftest import run_cli


def test_fit_alpha_recovers_known_slope():
    """Fields drawn from P(phi) = alpha |phi| / J^2 on |phi| < a (rest of the weight
    spread uniformly up to 3J): the fit on the window recovers alpha."""
    rng = np.random.default_rng(0)
    J, alpha, a, N = 2.0, 1.3, 0.6, 400
    w_lin = alpha * a ** 2  # weight of the linear part, in units where x = |phi|/J
    phis = []
    for _ in range(60):
        u = rng.random(N)
        lin = u < w_lin
        x = np.where(lin, a * np.sqrt(rng.random(N)), rng.uniform(a, 3.0, N))
        phis.append(J * x * rng.choice([-1, 1], N))
    fit = coulomb_gap.fit_alpha(phis, J)
    assert abs(fit.alpha - alpha) < 3 * fit.alpha_err
    assert 0.005 < fit.alpha_err < 0.1
    # a wrong law (P flat near 0) is not mistaken for alpha = 1.3
    flat = [J * rng.uniform(-1, 1, N) for _ in range(60)]
    fit2 = coulomb_gap.fit_alpha(flat, J)
    assert fit2.chi2_dof > 5


def test_sk_extrapolation_exact_line():
    Ns = [64, 128, 256, 512]
    rows = [(N, 10, -0.19 + 0.5 * N ** (-2 / 3), 1e-3) for N in Ns]
    e, err, a, chi2 = sk_energy.extrapolate(rows)
    assert e == pytest.approx(-0.19, abs=1e-10) and a == pytest.approx(0.5, abs=1e-8)
    assert chi2 < 1e-12 and 0 < err < 0.01


JOB = """
engine = "mc"
seed = 5
realizations = 4
[model]
t = 0.0
density = 0.5
compensate = true
[scan]
L = [24, 64, 100]
[options]
sweeps = 60
replicas = 6
T_min = 0.05
"""


def test_mc_engine_end_to_end(tmp_path):
    job = tmp_path / "mc.toml"
    job.write_text(JOB)
    out = tmp_path / "mc.h5"
    r = run_cli("run", job, "--output", out, "--quiet")
    assert r.returncode == 0, r.stderr
    a = run_cli("analyze", out, "--out", tmp_path / "an")
    assert a.returncode == 0 and "extrapolated" in a.stdout, a.stdout + a.stderr  # compensated: SK too
    assert (tmp_path / "an" / "coulomb_gap.png").exists() and (tmp_path / "an" / "sk_energy.png").exists()
    fits = coulomb_gap.analyze(out, tmp_path / "fig")
    assert [f.N for f in fits] == [64, 100]  # N = 24: window empty
    assert (tmp_path / "fig" / "coulomb_gap.png").stat().st_size > 10000
    rows = sk_energy.sizes_and_energies(out)
    assert len(rows) == 3 and all(-0.5 < m < 0 for _, _, m, _ in rows)
    from analysis.load import load_points
    _, pts = load_points(out)
    rec = pts[0].records[0]
    assert rec["pair_stable"] and rec["phi_hist"].sum() == 24
    assert rec["q"].ndim == 1 and np.all(np.abs(rec["q"]) <= 1)
    assert rec["acceptance"].shape == (6,) and rec["exchange"].shape == (5,)


def test_mc_engine_rejects_t(tmp_path):
    job = tmp_path / "bad.toml"
    job.write_text(JOB.replace("t = 0.0", "t = 0.5"))
    r = run_cli("run", job, "--output", tmp_path / "x.h5")
    assert r.returncode == 2 and "t = 0.5" in r.stderr and not (tmp_path / "x.h5").exists()
