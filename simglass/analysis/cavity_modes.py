"""Finite numbers of cavity modes at t = 0 (issue 19) from ``mc`` results with
``couplings = "cavity"`` (and the Gaussian limit, ``couplings = "gaussian"``, in the same
or another file).

Per size N and number of modes M (load M/N), disorder averages over realisations of

* the ground-state energy per site E/N (units of J);
* the weights ω_k = (u_k·s)²/N of the state s = 2n - 1 on the eigenvectors of V,
  largest eigenvalue first (engine option ``modes``; set it >= N to record all):
  ω₁ on the leading one, and Ω_M = Σ_{k<=M} ω_k on the M leading ones, i.e. on the
  pattern subspace (for M < N the M largest eigenvalues of V belong to it).  A random
  state has Ω_M = M/N on average, so κ = (Ω_M - M/N)/(1 - M/N) measures condensation
  onto the patterns: 2/π for M = 1 (the exact block state), O(1) when the state lies in
  the pattern subspace, small when it does not.  For Gaussian mode functions the M
  leading eigenvalues are nearly degenerate at small M/N, so the weight spreads over
  them: ω₁ measures condensation onto one collective mode, κ onto the M of them;  For Gaussian mode functions V depends on them only through G Gᵀ, whose
  distribution is invariant under rotations of the M modes, so overlaps with individual
  mode functions are not defined by the couplings; the eigenvectors of V are;
* the Coulomb-gap slope alpha (analysis.coulomb_gap: the α|φ| + b|φ|³ fit on the central
  window [2/√N, 0.3 J], as for the Gaussian ensemble);
* the overlaps q of the lowest states of independent restarts (``restart_q``): P(q),
  summarised by ⟨|q|⟩.

The condensation load x_c(N) is where ⟨ω₁⟩ falls through ½ (interpolated in log M/N,
bootstrap error): below it the state lies mostly on the leading collective mode.  Loads are M/N; the Gaussian ensemble is the limit M/N → ∞.

Couplings from a file (``couplings = "file"``, docs/jobs.md "Couplings from a file") are
analysed in the same way when the file held the mode functions g_iℓ (the dataset ``g``,
shape (N, M) or (R, N, M)): the results file then records M (its attribute
``couplings_file``, key ``n_modes``), which is all the analysis takes from them; the
weights are still those on the eigenvectors of V.  E/(NJ) and the fit window of α are in
the file's energy unit (J = 1 in the stored parameters): comparisons with the built-in
ensembles need the file's V in their convention, V = J/√(NM) Σ_ℓ g_iℓ g_jℓ with
Σ_i g_iℓ² ≈ N.  Results of a file without ``g`` are refused (:class:`NoModes`): M is
not known.

From ``hartree`` results (t > 0, ``hartree_points``), per J/t and M: the Hartree density
of states at μ (levels within ±1 bin of μ, per site and unit energy), W_J = 1/P(φ = ±t)
of the Hartree fields (Eq. 16, analysis.localization.w_j) and the typical Thouless
conductance ⟨ln g⟩, over converged and stable solutions.

    python -m simglass.analysis.cavity_modes results/cavity_modes.h5 results/cavity_modes_gaussian.h5 --out DIR
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from simglass.options import InputError

from .files import written
from .coulomb_gap import C_LO, X_HI, fit_alpha
from .load import lattice_key, load_points
from .plotting import pyplot, save
from .reference import ALPHA_THEORY, HOPFIELD_ALPHA_C
from .stats import first_crossing, mean_sem

__all__ = ["CavityPoint", "HartreePoint", "NoModes", "points", "hartree_points", "condensation_load", "analyze",
           "file_modes", "n_modes"]

OMEGA_LEVEL = 0.5


class NoModes(InputError):
    """Results of couplings from a file that held no mode functions g: M is unknown."""


def file_modes(path) -> int | None:
    """M of the mode functions g the couplings file of results file ``path`` held when
    the job ran (recorded in its attribute ``couplings_file``), or None: no couplings
    file, or one without g."""
    import json
    from simglass.results import read_results
    f, _ = read_results(path)
    with f:
        stored = f.attrs.get("couplings_file")
    return None if stored is None else json.loads(stored).get("n_modes")


def _file_modes_of(path, pts):
    """file_modes(path), read only where a point's couplings come from a file."""
    return file_modes(path) if any(p.params.get("couplings") == "file" for p in pts) else None


def n_modes(path, params, M_file=None) -> float:
    """The number of modes M of a parameter point of results file ``path``: ``n_modes``
    of built-in cavity couplings, inf for the Gaussian ensemble, M of the mode functions
    of a couplings file (``M_file``, :func:`file_modes` of ``path``).  Raises
    :class:`NoModes` (one line) for a couplings file without mode functions."""
    if params.get("couplings") == "cavity":
        return float(params["n_modes"])
    if params.get("couplings") != "file":
        return np.inf
    M = file_modes(path) if M_file is None else M_file
    if M is None:
        raise NoModes(f"{path}: its couplings file held no mode functions g, and the cavity-mode analysis needs "
                      "their number M: write them into the couplings file as the dataset g, shape (N, M) or "
                      "(R, N, M), and run the job into a new results file (docs/jobs.md, 'Couplings from a file')")
    return float(M)


@dataclass
class CavityPoint:
    """Disorder averages of one (N, M); M = inf for the Gaussian ensemble."""
    N: int
    M: float
    realizations: int
    e: float
    e_err: float
    omega1: np.ndarray             # (realisations,) weight on the leading eigenvector (NaN: not recorded)
    omega_M: np.ndarray            # (realisations,) weight on the M leading eigenvectors (NaN: fewer recorded)
    alpha: float
    alpha_err: float
    q_abs: float                   # mean |q| over restart pairs and realisations
    q_abs_err: float
    q: np.ndarray                  # all restart-pair overlaps

    @property
    def load(self) -> float:
        return self.M / self.N

    @property
    def kappa(self) -> np.ndarray:
        """(realisations,) (Ω_M - M/N)/(1 - M/N); NaN for M >= N or unrecorded weights."""
        if not self.M < self.N:
            return np.full(self.omega_M.shape, np.nan)
        x = self.load
        return (self.omega_M - x) / (1 - x)


def points(paths) -> list[CavityPoint]:
    """CavityPoints of the mc results files ``paths`` (one or more), sorted by N then M.
    Raises InputError for a file of another engine, :class:`NoModes` for couplings from
    a file without mode functions."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    out = []
    for path in paths:
        _, pts = load_points(path, engine="mc")
        M_file = _file_modes_of(path, pts)
        for p in pts:
            recs = p.records
            if len(recs) < 2:
                continue
            N = int(np.prod(lattice_key(p.params)))
            J = float(p.params["J"])
            M = n_modes(path, p.params, M_file)
            e, ee = mean_sem([r["energy"] / (N * J) for r in recs])
            w = np.array([r["mode_weights"][0] if "mode_weights" in r else np.nan for r in recs])
            k = int(min(M, N))
            wt = np.array([np.sum(r["mode_weights"][:k]) if np.size(r.get("mode_weights", [])) >= k else np.nan
                           for r in recs])
            try:
                f = fit_alpha([r["phi"] for r in recs], J, C_LO, X_HI, curvature=True, n_boot=300)
                a, ae = f.alpha, f.alpha_err
            except ValueError:             # no window at this N
                a, ae = np.nan, np.nan
            qs = [np.abs(r["restart_q"]) for r in recs if "restart_q" in r and np.size(r["restart_q"])]
            per = np.array([q.mean() for q in qs])
            qm, qe = mean_sem(per) if per.size > 1 else (np.nan, np.nan)
            out.append(CavityPoint(N, M, len(recs), float(e), float(ee), w, wt, float(a), float(ae), float(qm),
                                   float(qe), np.concatenate(qs) if qs else np.zeros(0)))
    return sorted(out, key=lambda c: (c.N, c.M))


@dataclass
class HartreePoint:
    """Disorder averages of one (J/t, M) of Hartree results; M = inf: Gaussian ensemble."""
    N: int
    J: float
    M: float
    realizations: int              # usable (converged and stable) solutions
    flagged: int                   # left out: unconverged or saddle points
    dos_mu: float
    dos_mu_err: float
    w_j: float
    w_j_err: float
    ln_g: float
    ln_g_err: float

    @property
    def load(self) -> float:
        return self.M / self.N


def _engine(path):
    from simglass.results import read_results
    f, job = read_results(path)
    f.close()
    return job.engine


def hartree_points(paths) -> list[HartreePoint]:
    """HartreePoints of the hartree results files ``paths``, sorted by J then M.  Raises
    as :func:`points`."""
    from .localization import usable, w_j
    out = []
    for path in ([paths] if isinstance(paths, (str, Path)) else paths):
        _, pts = load_points(path, engine="hartree")
        M_file = _file_modes_of(path, pts)
        for p in pts:
            recs = [r for r in p.records if usable(r)]
            if len(recs) < 2:
                continue
            N = int(np.prod(lattice_key(p.params)))
            t = float(p.params["t"])
            M = n_modes(path, p.params, M_file)
            edges = recs[0]["dos_edges"]
            k = np.searchsorted(edges, 0.0)           # bins [k-1, k] touch mu = 0
            width = edges[k + 1] - edges[k - 1]
            rho, rho_e = mean_sem([r["dos_hist"][k - 1:k + 1].sum() / (N * width) for r in recs])
            wj = w_j([p])
            wj_v, wj_e = (wj[0][2], wj[0][3]) if wj else (np.nan, np.nan)
            lg, lg_e = mean_sem([r["ln_g_mean"] for r in recs])
            out.append(HartreePoint(N, float(p.params["J"]) / t, M, len(recs), len(p.records) - len(recs),
                                    float(rho), float(rho_e), float(wj_v), float(wj_e), float(lg), float(lg_e)))
    return sorted(out, key=lambda h: (h.J, h.M))


def condensation_load(pts, N, level=OMEGA_LEVEL):
    """(x_c, error): the load M/N where ⟨ω₁⟩ of size N first falls through ``level``,
    interpolated in log10(M/N) (bootstrap over realisations); NaN if it does not."""
    cav = [c for c in pts if c.N == N and np.isfinite(c.M) and np.all(np.isfinite(c.omega1))]
    if len(cav) < 2:
        return np.nan, np.nan
    R = min(c.omega1.size for c in cav)
    S = np.array([c.omega1[:R] for c in cav])
    x, err = first_crossing(np.log10([c.load for c in cav]), S, level, falling=True)
    if not np.isfinite(x):
        return np.nan, np.nan
    return float(10 ** x), float(10 ** x * np.log(10) * err)


def analyze(paths, out=None):
    """CavityPoints of the mc files among ``paths`` and, per N, the condensation load;
    with ``out`` cavity_modes.csv and cavity_modes.png (and, for hartree files among
    ``paths``, cavity_modes_hartree.csv and .png).  Returns (points, {N: (x_c, error)})."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    engines = {str(p): _engine(p) for p in paths}
    pts = points([p for p in paths if engines[str(p)] == "mc"])
    hpaths = [p for p in paths if engines[str(p)] == "hartree"]
    if out is not None and hpaths:
        _hartree_outputs(hartree_points(hpaths), Path(out))
    sizes = sorted({c.N for c in pts})
    loads = {N: condensation_load(pts, N) for N in sizes}
    if out is not None and pts:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        with written(out / "cavity_modes.csv") as fh:
            fh.write("N,M,load,realizations,e,e_err,omega1,omega1_err,kappa,kappa_err,alpha,alpha_err,q_abs,"
                     "q_abs_err\n")
            for c in pts:
                w, we = mean_sem(c.omega1)
                k, ke = mean_sem(c.kappa)
                fh.write(f"{c.N},{c.M:g},{c.load:.5g},{c.realizations},{c.e:.6g},{c.e_err:.3g},{w:.5g},{we:.3g},"
                         f"{k:.5g},{ke:.3g},"
                         f"{c.alpha:.5g},{c.alpha_err:.3g},{c.q_abs:.5g},{c.q_abs_err:.3g}\n")
        _figure(pts, sizes, loads, out / "cavity_modes.png")
    return pts, loads


def _hartree_outputs(hp, out):
    out.mkdir(parents=True, exist_ok=True)
    with written(out / "cavity_modes_hartree.csv") as fh:
        fh.write("N,J_over_t,M,load,usable,flagged,dos_mu,dos_mu_err,W_J,W_J_err,ln_g,ln_g_err\n")
        for h in hp:
            fh.write(f"{h.N},{h.J:g},{h.M:g},{h.load:.5g},{h.realizations},{h.flagged},{h.dos_mu:.5g},"
                     f"{h.dos_mu_err:.3g},{h.w_j:.5g},{h.w_j_err:.3g},{h.ln_g:.5g},{h.ln_g_err:.3g}\n")
    plt = pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(13, 4))
    for k, J in enumerate(sorted({h.J for h in hp})):
        col = f"C{k}"
        cav = [h for h in hp if h.J == J and np.isfinite(h.M)]
        gau = [h for h in hp if h.J == J and not np.isfinite(h.M)]
        x = [h.load for h in cav]
        for a, (v, e) in zip(axes, (("dos_mu", "dos_mu_err"), ("w_j", "w_j_err"), ("ln_g", "ln_g_err"))):
            a.errorbar(x, [getattr(h, v) for h in cav], yerr=[getattr(h, e) for h in cav], fmt="o-", ms=3,
                       color=col, label=f"J/t = {J:g}, N = {cav[0].N if cav else '?'}")
            for g in gau:
                a.axhline(getattr(g, v), color=col, ls="--", lw=0.8)
    for a, lab in zip(axes, (r"Hartree DOS at $\mu$ [1/(t site)]", r"$W_J = 1/P(\phi = \pm t)$ [t]",
                             r"$\langle \ln g \rangle$")):
        a.set_xscale("log")
        a.set_xlabel("load M/N")
        a.set_ylabel(lab)
        a.legend(fontsize=7)
    axes[0].set_title("t > 0: Hartree solutions against M (dashed: Gaussian)")
    save(fig, out / "cavity_modes_hartree.png")


def _figure(pts, sizes, loads, path):
    plt = pyplot()
    fig, ax = plt.subplots(2, 2, figsize=(10, 7.5))
    (a1, a2), (a3, a4) = ax
    for k, N in enumerate(sizes):
        col = f"C{k}"
        cav = [c for c in pts if c.N == N and np.isfinite(c.M)]
        gau = [c for c in pts if c.N == N and not np.isfinite(c.M)]
        x = np.array([c.load for c in cav])
        a1.errorbar(x, [-c.e for c in cav], yerr=[c.e_err for c in cav], fmt="o-", ms=3, color=col,
                    label=f"N = {N}")
        w = np.array([mean_sem(c.omega1) for c in cav])
        a2.errorbar(x, w[:, 0], yerr=w[:, 1], fmt="o-", ms=3, color=col, label=f"N = {N}")
        a2.plot(x, [np.nanmean(c.kappa) if np.any(np.isfinite(c.kappa)) else np.nan for c in cav], ":",
                color=col, lw=1)
        for g in gau:
            a2.axhline(np.nanmean(g.omega1), color=col, ls="--", lw=0.8)
        a3.errorbar(x, [c.alpha for c in cav], yerr=[c.alpha_err for c in cav], fmt="o-", ms=3, color=col,
                    label=f"N = {N}")
        a4.errorbar(x, [c.q_abs for c in cav], yerr=[c.q_abs_err for c in cav], fmt="o-", ms=3, color=col,
                    label=f"N = {N}")
        for g in gau:
            a1.axhline(-g.e, color=col, ls="--", lw=0.8)
            if np.isfinite(g.alpha):
                a3.axhspan(g.alpha - g.alpha_err, g.alpha + g.alpha_err, color=col, alpha=0.15)
            a4.axhline(g.q_abs, color=col, ls="--", lw=0.8)
        xc = loads[N][0]
        if np.isfinite(xc):
            a2.axvline(xc, color=col, ls=":", lw=0.8)
    if all(c.e < 0 for c in pts):
        a1.set_yscale("log")
    a1.set_ylabel(r"$-E/(NJ)$")
    a1.set_title("Ground-state energy per site (dashed: Gaussian ensemble)")
    a2.axhline(OMEGA_LEVEL, color="k", lw=0.5)
    a2.axvline(HOPFIELD_ALPHA_C, color="k", ls="-.", lw=0.8, label="Hopfield α_c = 0.138 (binary)")
    a2.set_ylabel(r"$\omega_1$ (dotted: $\kappa$, weight on all M modes)")
    a2.set_title("Weight on the leading mode of V (dashed: Gaussian)")
    a3.axhline(ALPHA_THEORY, color="k", ls="--", label="Eq. 14: 1.24")
    a3.set_ylabel(r"$\alpha$ ($\alpha|\phi| + b|\phi|^3$ on $[2/\sqrt{N}, 0.3J]$)")
    a3.set_title("Coulomb-gap slope" + (" (bands: Gaussian ensemble)" if any(
        np.isfinite(c.alpha) for c in pts if not np.isfinite(c.M)) else ""))
    a4.set_ylabel(r"$\langle |q| \rangle$ between restarts")
    a4.set_title("Overlap of independent low-lying states")
    x = [c.load for c in pts if np.isfinite(c.M)]
    for a in (a1, a2, a3, a4):
        a.set_xscale("log")
        if not np.all(np.isfinite(a.dataLim.intervalx)):   # no finite value in the panel (α below N = 45)
            a.set_xlim(*((min(x) / 2, max(x) * 2) if x else (1e-2, 10.0)))
        a.set_xlabel("load M/N")
        a.legend(fontsize=7)
    save(fig, path)


def main(argv=None):
    from simglass.cli import terminal_text
    ap = argparse.ArgumentParser(prog="python -m simglass.analysis.cavity_modes", description=terminal_text(__doc__.splitlines()[0]))
    ap.add_argument("results", nargs="+", help="mc (t = 0) or hartree (t > 0) results files: cavity "
                                               "couplings and the Gaussian limit")
    ap.add_argument("--out", help="directory for cavity_modes.csv and cavity_modes.png")
    a = ap.parse_args(argv)
    from simglass.options import InputError
    try:
        pts, loads = analyze(a.results, a.out)
    except (InputError, ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"{'N':>5} {'M':>6} {'M/N':>8} {'R':>3} {'E/(NJ)':>10} {'err':>8} {'omega1':>7} {'kappa':>7} {'alpha':>7} "
          f"{'err':>6} {'<|q|>':>6}")
    for c in pts:
        w = np.nanmean(c.omega1) if np.any(np.isfinite(c.omega1)) else np.nan
        print(f"{c.N:5d} {c.M:6g} {c.load:8.4g} {c.realizations:3d} {c.e:10.5f} {c.e_err:8.5f} {w:7.3f} "
              f"{(np.nanmean(c.kappa) if np.any(np.isfinite(c.kappa)) else np.nan):7.3f} "
              f"{c.alpha:7.3f} {c.alpha_err:6.3f} {c.q_abs:6.3f}")
    for N, (x, e) in loads.items():
        if np.isfinite(x):
            print(f"N = {N}: <omega1> falls through {OMEGA_LEVEL} at M/N = {x:.4g} +- {e:.2g} "
                  f"(M = {x * N:.3g})")
        else:
            k = len({c.M for c in pts if c.N == N and np.isfinite(c.M)})
            print(f"N = {N}: {k} load{'' if k == 1 else 's'} M/N: the crossing of <omega1> = {OMEGA_LEVEL} "
                  "needs 2 or more" if k < 2 else
                  f"N = {N}: <omega1> does not fall through {OMEGA_LEVEL} between the {k} loads M/N given")
    hp = hartree_points([p for p in a.results if _engine(p) == "hartree"])
    if hp:
        print(f"{'N':>5} {'J/t':>5} {'M':>6} {'M/N':>8} {'R':>3} {'flag':>4} {'DOS(mu)':>8} {'err':>7} "
              f"{'W_J':>7} {'err':>6} {'<ln g>':>7} {'err':>6}")
        for h in hp:
            print(f"{h.N:5d} {h.J:5g} {h.M:6g} {h.load:8.4g} {h.realizations:3d} {h.flagged:4d} {h.dos_mu:8.4f} "
                  f"{h.dos_mu_err:7.4f} {h.w_j:7.3f} {h.w_j_err:6.3f} {h.ln_g:7.3f} {h.ln_g_err:6.3f}")
    return 0


if __name__ == "__main__":
    from simglass.analysis.files import run_command
    sys.exit(run_command(main))
