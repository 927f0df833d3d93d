"""ED against Hartree on the same realisations, from ``ed`` results (issue 5).

Per cluster and J/t, disorder averages with standard errors of
  (E0 - E_H)/N            (E_H has no exchange term, so it is not a variational bound;
                           the record's hartree_expectation is),
  rms_i (<n_i>_ED - <n_i>_H),
  the many-body charge gap E(N+1) + E(N-1) - 2E(N) and the Hartree single-particle gap.
Only converged Hartree solutions enter; their number is reported.

    python -m analysis.ed_hartree results/ed_vs_hartree.h5 --out DIR
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from .load import load_points
from .plotting import pyplot, save
from .stats import mean_sem


def glass_susceptibility(chi, J: float) -> float:
    """(J²/N) Σ_ij chi_ij² of Eq. 42: the Fermi liquid of a finite cluster is unstable
    towards the glass when it reaches 1 (lowest order: chi of free fermions)."""
    chi = np.asarray(chi)
    return float(J ** 2 * (chi ** 2).sum() / chi.shape[0])


def table(path):
    job, points = load_points(path, engine="ed")
    rows = []
    for p in points:
        recs = [r for r in p.records if r.get("hartree_converged", False)]
        if not recs:
            continue
        t = p.params["t"] or 1.0
        N = recs[0]["density"].size
        dE = mean_sem([(r["energy"] - r["hartree_energy"]) / N / t for r in recs])
        dn = mean_sem([np.sqrt(np.mean((r["density"] - r["hartree_density"]) ** 2)) for r in recs])
        gap = mean_sem([r["charge_gap"] / t for r in recs]) if "charge_gap" in recs[0] else (np.nan, np.nan)
        hgap = mean_sem([r["hartree_gap"] / t for r in recs])
        if "chi" in recs[0]:  # Eq. 42 with the interacting ED response
            chi_sg = mean_sem([glass_susceptibility(r["chi"], p.params["J"]) for r in recs])
            print(f"  Eq. 42 (J²/N)Σχ² at point {p.index}: {chi_sg[0]:.4g} ± {chi_sg[1]:.2g}")
        L = p.params["L"]
        rows.append(("x".join(map(str, L if isinstance(L, list) else [L])), N, p.params["J"] / t,
                     len(recs), len(p.records) - len(recs), *dE, *dn, *gap, *hgap))
    return rows


HEAD = ["cluster", "N", "J/t", "R", "H_unconv", "dE/Nt", "err", "rms_dn", "err",
        "charge_gap/t", "err", "hartree_gap/t", "err"]


def figure(rows, path):
    plt = pyplot()
    fig, ax = plt.subplots(1, 3, figsize=(13, 4))
    clusters = sorted({r[0] for r in rows}, key=lambda c: np.prod([int(x) for x in c.split("x")]))
    for k, cl in enumerate(clusters):
        rs = [r for r in rows if r[0] == cl]
        J = [r[2] for r in rs]
        kw = dict(ms=3, capsize=2, color=f"C{k}")
        ax[0].errorbar(J, [r[5] for r in rs], [r[6] for r in rs], fmt="o-", label=cl, **kw)
        ax[1].errorbar(J, [r[7] for r in rs], [r[8] for r in rs], fmt="o-", label=cl, **kw)
        ax[2].errorbar(J, [r[9] for r in rs], [r[10] for r in rs], fmt="o-", label=f"{cl} ED charge gap", **kw)
        ax[2].errorbar(J, [r[11] for r in rs], [r[12] for r in rs], fmt="s--", label=f"{cl} Hartree gap", **kw)
    ax[0].set_ylabel(r"$(E_0 - E_H)/(N t)$")
    ax[1].set_ylabel(r"rms$_i(\langle n_i\rangle_{ED} - \langle n_i\rangle_H)$")
    ax[2].set_ylabel("gap / t")
    for a in ax:
        a.set_xlabel("J/t")
        a.legend(fontsize=7)
    ax[0].set_title("Energy: ED - Hartree")
    ax[1].set_title("Densities")
    ax[2].set_title("Gaps at the Fermi level")
    save(fig, path)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m analysis.ed_hartree", description=__doc__.splitlines()[0])
    ap.add_argument("results")
    ap.add_argument("--out")
    a = ap.parse_args(argv)
    from simglass.options import InputError
    try:
        rows = table(a.results)
    except (InputError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(" ".join(f"{h:>12}" for h in HEAD))
    for r in rows:
        print(" ".join(f"{v:>12}" if isinstance(v, str) else f"{v:12.5g}" for v in r))
    if a.out:
        out = Path(a.out)
        out.mkdir(parents=True, exist_ok=True)
        with open(out / "ed_hartree.csv", "w") as fh:
            fh.write(",".join(HEAD) + "\n")
            for r in rows:
                fh.write(",".join(str(v) for v in r) + "\n")
        figure(rows, out / "ed_hartree.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
