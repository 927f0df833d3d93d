"""Energy-resolved localisation of Hartree solutions: the mobility edge near the Fermi
level, the Hartree DOS ρ_H(E) near μ against N, and the fixed-level-count <ln g> beside
it, on the same data (``hartree`` results with ``g_energy_max`` > 0, or their compact
tables).

Per energy bin k of |E - μ| (analysis.level_bins.EDGES, units of t) and per point (L, x):

* ρ_H(E_k) = <n_k> / (2 w_k N), the disorder-averaged Hartree DOS per site and unit
  energy (n_k levels of a realisation in the bin, of width w_k on each side of μ);
* <ln g>(E_k) = <ln |c|>_k - ln Δ_k, the mean of ln |c| over all levels of the point in
  the bin, Δ_k = 1 / (N ρ_H(E_k)) the local mean level spacing of the point: the typical
  Thouless conductance of the states at that distance from μ (its bootstrap includes the
  fluctuation of ρ_H, ``_bin_tables``).

The crossing of successive sizes of <ln g>(E_k) against x (analysis.finite_size, the
bootstrap over whole realisations) gives x_c(E_k): the coupling at which the states at
|E - μ| ≈ E_k localise, i.e. the mobility edge E_c(x) read the other way.  The Fermi
level localises where E_c reaches μ: x_c of the lowest bins.  A fixed number of levels
around μ (``ln_g_mean_4``, ``ln_g_mean``, ``ln_g_mean_16``: 4, 8, 16 per side) spans an
energy window that shrinks as 1/(N ρ_H), faster where the pseudogap deepens; its
crossings are listed beside the energy-resolved ones.

With ``--limit``, the lowest bin's crossing (the states at the Fermi level) as L -> ∞ by
the rule of analysis.localization.limit_estimate (scaling fits with and without the
irrelevant correction, pair crossings extrapolated in L; systematic error half the range
over these choices), on the x of ``--window``.

    python -m simglass.analysis.mobility_edge data/fermi_level_w0_*.csv.gz --out DIR [--x-dos 3.5] [--limit]
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .files import written
from .finite_size import SizeData, pair_crossings, restrict, size_table
from .level_bins import EDGES, binned
from .plotting import pyplot, save

__all__ = ["MobilityEdge", "analyze", "from_points", "fermi_level_limit", "FIXED_COUNTS"]

FIXED_COUNTS = {4: "ln_g_mean_4", 8: "ln_g_mean", 16: "ln_g_mean_16"}   # levels per side -> key


def usable(rec) -> bool:
    """Converged, stable (not a saddle point of E_H) and holding binned curvatures."""
    return bool(rec["converged"]) and bool(rec.get("stable", True)) and (
        "g_energy_levels" in rec or "n_E0" in rec)


@dataclass
class MobilityEdge:
    """dos[k]: {size: SizeData of ρ_H(E_k) per realisation}; ln_g[k]: {size: SizeData of
    <ln g>(E_k)}; crossings[k]: successive-size Crossings of ln_g[k]; fixed[m]: the
    Crossings of the fixed-count <ln g> with m levels per side; x: the scanned key."""
    x: str
    dos: dict
    ln_g: dict
    crossings: dict
    fixed: dict

    def rows(self):
        """(bin low, bin high, size a, size b, x_c, error, bootstrap fraction) per bin and pair."""
        return [(EDGES[k], EDGES[k + 1], c.a, c.b, c.x, c.err, c.found)
                for k, cs in self.crossings.items() for c in cs]


def _bin_tables(points, x, k):
    """(ρ_H table, <ln g> table) of bin k, {size: SizeData}.

    <ln g>(E_k) pools the levels of a point: Σ_r S_r / Σ_r n_r - ln Δ, Δ = 2 w_k R /
    Σ_r n_r (the mean spacing in the bin), with n_r the levels of realisation r in the bin and S_r the sum of their
    ln|c|.  The table holds, per realisation, the linearisation of that ratio estimator
    around the point's means (delta method),

        Y_r = ln(n̄ / 2w) + S̄/n̄ + (S_r - (S̄/n̄) n_r + n_r - n̄) / n̄,

    whose mean over all realisations is the estimator itself and whose resampling is the
    bootstrap of the ratio to first order: the DOS normalisation fluctuates with the
    resampled levels, and a realisation without a level in the bin still counts."""
    width = EDGES[k + 1] - EDGES[k]

    def level_sum(rec):
        n, lnc = binned(rec)
        return n[k] * lnc[k] if n[k] > 0 else 0.0
    counts = size_table(points, lambda rec: binned(rec)[0][k], x, usable)
    sums = size_table(points, level_sum, x, usable)
    dos, ln_g = {}, {}
    for s, d in counts.items():
        N = np.prod(s)
        n, S = d.Y, sums[s].Y
        dos[s] = SizeData(s, d.x, n / (2 * width * N), d.flagged, d.rows)
        with np.errstate(divide="ignore", invalid="ignore"):
            n_bar, S_bar = np.nanmean(n, axis=0), np.nanmean(S, axis=0)
            ratio = S_bar / n_bar
            Y = np.log(n_bar / (2 * width)) + ratio + (S - ratio * n + n - n_bar) / n_bar
        Y[:, ~(n_bar > 0)] = np.nan
        ln_g[s] = SizeData(s, d.x, Y, d.flagged, d.rows)
    return dos, ln_g


def analyze(paths, x="J", out=None, n_boot=300, window=None, x_dos=None, sizes=None) -> MobilityEdge:
    """The analysis of the module docstring; with ``out``, writes mobility_edge.csv,
    mobility_edge.png (x_c against |E - μ| per pair of sizes, with the fixed-count
    crossings) and dos_near_mu.png (ρ_H(E) near μ for each size at x = ``x_dos``, default
    the scan's middle value, and ρ_H of the lowest bin against N for every x).

    ``sizes``: linear sizes L to keep (analysis.localization.select_sizes), e.g. the
    sizes of one shell class.

    Raises ValueError when no task holds binned curvatures or a size is not in the files."""
    from .compact import load_any
    from .localization import select_sizes
    _, points = load_any(paths, "hartree")
    return from_points(select_sizes(points, sizes), x, out, n_boot, window, x_dos)


def from_points(points, x="J", out=None, n_boot=300, window=None, x_dos=None) -> MobilityEdge:
    """``analyze`` of analysis.load points (params with L and x; records)."""
    if not any(usable(r) for p in points for r in p.records):
        raise ValueError("no converged task with energy-binned curvatures (hartree option "
                         "g_energy_max > 0)")
    dos, ln_g, crossings = {}, {}, {}
    for k in range(EDGES.size - 1):
        dos[k], ln_g[k] = _bin_tables(points, x, k)
        crossings[k] = pair_crossings(ln_g[k], n_boot=n_boot, window=window)
    fixed = {}
    for m, key in FIXED_COUNTS.items():
        table = size_table(points, lambda rec, key=key: rec.get(key, np.nan), x, usable)
        fixed[m] = pair_crossings(table, n_boot=n_boot, window=window)
    res = MobilityEdge(x, dos, ln_g, crossings, fixed)
    if out is not None:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        with written(out / "mobility_edge.csv") as fh:
            fh.write(f"E_lo,E_hi,size_a,size_b,{x}_c,err,found\n")
            for lo, hi, a, b, xc, err, found in res.rows():
                fh.write(f"{lo:g},{hi:g},{a[0]},{b[0]},{xc:.5g},{err:.3g},{found:.3f}\n")
        _edge_figure(res, out / "mobility_edge.png")
        _dos_figure(res, out / "dos_near_mu.png", x_dos)
    return res


def fermi_level_limit(res, window=None, n_boot=100):
    """The lowest bin's crossing (|E - μ| < EDGES[1], the states at the Fermi level) as
    L -> ∞: analysis.localization.limit_estimate of ``res.ln_g[0]`` on the x inside
    ``window``, started at the largest pair's crossing.  None when no pair crosses in
    that bin; ValueError (or LinAlgError) from limit_estimate when it cannot fit.  The
    command's --limit and the report row checks.fermi_level_row both use it."""
    from .localization import limit_estimate
    ok = [c for c in res.crossings[0] if np.isfinite(c.x)]
    if not ok:
        return None
    return limit_estimate(res.ln_g[0], ok[-1].x, n_boot=n_boot, window=window)


def _edge_figure(res, path):
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4.5))
    mid = 0.5 * (EDGES[1:] + EDGES[:-1])
    pairs = sorted({(c.a, c.b) for cs in res.crossings.values() for c in cs}, key=lambda p: np.prod(p[0]))
    for i, (a, b) in enumerate(pairs):
        xs, es, ms = [], [], []
        for k, cs in res.crossings.items():
            c = next((c for c in cs if (c.a, c.b) == (a, b)), None)
            if c is not None and np.isfinite(c.x):
                xs.append(c.x), es.append(c.err if np.isfinite(c.err) else 0.0), ms.append(mid[k])
        ax.errorbar(ms, xs, yerr=es, fmt="o-", ms=3, capsize=2, color=f"C{i}", label=f"L = {a[0]}/{b[0]}")
        for m, cs in res.fixed.items():
            c = next((c for c in cs if (c.a, c.b) == (a, b)), None)
            if c is not None and np.isfinite(c.x):
                ax.axhline(c.x, color=f"C{i}", ls=":", lw=0.8)
    ax.set_xlabel(r"$|E - \mu|/t$ (bin centre)")
    ax.set_ylabel(f"{res.x}/t where " + r"$\langle\ln g\rangle(E)$ of the pair crosses")
    ax.set_title("Mobility edge: localising coupling against distance from μ\n"
                 "(dotted: fixed 4, 8, 16 levels per side)", fontsize=10)
    ax.legend(fontsize=8)
    save(fig, path)


def _dos_figure(res, path, x_dos):
    plt = pyplot()
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(10, 4.2))
    sizes = list(res.dos[0])
    xs = res.dos[0][sizes[0]].x
    x_dos = xs[len(xs) // 2] if x_dos is None else xs[np.argmin(np.abs(xs - x_dos))]
    mid = 0.5 * (EDGES[1:] + EDGES[:-1])
    for s in sizes:
        m, e = [], []
        for k in res.dos:
            d = res.dos[k][s]
            j = np.flatnonzero(np.isclose(d.x, x_dos))
            mk, ek, _ = d.mean_err()
            m.append(mk[j[0]] if j.size else np.nan), e.append(ek[j[0]] if j.size else np.nan)
        ax.errorbar(mid, m, yerr=e, fmt="o-", ms=3, capsize=2, label=f"L = {s[0]} (N = {np.prod(s)})")
    ax.set_xlabel(r"$|E - \mu|/t$")
    ax.set_ylabel(r"$t\,\rho_H(E)$ per site")
    ax.set_title(f"Hartree DOS near μ, {res.x}/t = {x_dos:g}", fontsize=10)
    ax.legend(fontsize=8)
    for j, xv in enumerate(xs):
        Ns, m, e = [], [], []
        for s in sizes:
            d = res.dos[0][s]
            i = np.flatnonzero(np.isclose(d.x, xv))
            if i.size:
                mk, ek, _ = d.mean_err()
                Ns.append(np.prod(s)), m.append(mk[i[0]]), e.append(ek[i[0]])
        bx.errorbar(Ns, m, yerr=e, fmt="o-", ms=3, capsize=2, label=f"{res.x}/t = {xv:g}")
    bx.set_xscale("log")
    bx.set_yscale("log")
    bx.set_xlabel("N")
    bx.set_ylabel(rf"$t\,\rho_H$, $|E-\mu| < {EDGES[1]:g}\,t$")
    bx.set_title("The pseudogap at μ against N", fontsize=10)
    bx.legend(fontsize=6, ncol=2)
    save(fig, path)


def main(argv=None):
    from simglass.cli import terminal_text
    ap = argparse.ArgumentParser(prog="python -m simglass.analysis.mobility_edge", description=terminal_text(__doc__.splitlines()[0]))
    ap.add_argument("results", nargs="+", help="hartree results files (.h5) or compact tables (.csv[.gz])")
    ap.add_argument("--x", default="J", choices=["J", "W"], help="scanned parameter (in units of t)")
    ap.add_argument("--out", help="directory for mobility_edge.csv, mobility_edge.png, dos_near_mu.png")
    ap.add_argument("--window", type=float, nargs=2, metavar=("LO", "HI"), help="x range of the crossing fits")
    ap.add_argument("--x-dos", type=float, help="x of the DOS figure dos_near_mu.png, needs --out (default: the "
                                                "scan's middle value; the scanned x nearest to it)")
    ap.add_argument("--n-boot", type=int, default=300, help="bootstrap resamples of the crossings (default 300; "
                                                            "--limit's fits use at most 100)")
    ap.add_argument("--sizes", type=int, nargs="+", metavar="L",
                    help="linear sizes to analyse, the others left out (e.g. 10 14: the sizes where n = 1/2 "
                         "closes a shell)")
    ap.add_argument("--limit", action="store_true",
                    help=f"also the L -> infinity estimate of the lowest bin's crossing (|E - mu| < {EDGES[1]:g} t, "
                         "the Fermi level) on the x of --window (default: every scanned x, below the glass "
                         "onset too): the choices and rule of analysis.localization.limit_estimate, with at "
                         "most 100 bootstrap resamples; with --out, also fermi_level_limit.png")
    a = ap.parse_args(argv)
    if a.x_dos is not None and a.out is None:
        ap.error("--x-dos chooses the x of the figure dos_near_mu.png: give --out too")
    from simglass.options import InputError
    try:
        res = analyze(a.results, a.x, a.out, a.n_boot, a.window, a.x_dos, sizes=a.sizes)
    except (InputError, ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"{'|E-mu|/t':>12} {'pair':>7} {a.x + '_c/t':>8} {'err':>6} {'found':>6}")
    for lo, hi, sa, sb, xc, err, found in res.rows():
        print(f"{lo:5.2f}-{hi:<5.2f} {sa[0]:>3}/{sb[0]:<3} {xc:8.3f} {err:6.3f} {100 * found:5.0f}%")
    for m, cs in res.fixed.items():
        for c in cs:
            print(f"fixed {m:2d} levels per side {c.a[0]:>3}/{c.b[0]:<3} {c.x:8.3f} {c.err:6.3f}")
    lo, hi = EDGES[0], EDGES[1]
    print(f"Hartree DOS t*rho_H per site, {lo:g} <= |E - mu|/t < {hi:g} (the pseudogap at mu), by size:")
    for s, d in res.dos[0].items():
        m, e, _ = d.mean_err()
        print(f"  L = {'x'.join(map(str, s)):>8}: " + ", ".join(
            f"{xv:g}: {mv:.4f}({1e4 * ev:.0f})" for xv, mv, ev in zip(d.x, m, e) if np.isfinite(mv)))
    if a.limit:
        from .localization import limit_figure, limit_lines
        try:
            lim = fermi_level_limit(res, a.window, n_boot=min(a.n_boot, 100))
        except (ValueError, np.linalg.LinAlgError) as e:
            print(f"error: --limit: {e}", file=sys.stderr)
            return 2
        if lim is None:
            print(f"L -> inf: no pair of sizes crosses in the lowest bin (|E - mu| < {EDGES[1]:g} t)")
            return 0
        print("\n".join(limit_lines(lim, a.x, f"|E - mu| < {EDGES[1]:g} t (the Fermi level)")))
        if a.out:
            limit_figure(restrict(res.ln_g[0], a.window), lim, a.x, Path(a.out) / "fermi_level_limit.png")
    return 0


if __name__ == "__main__":
    from simglass.analysis.files import run_command
    sys.exit(run_command(main))
