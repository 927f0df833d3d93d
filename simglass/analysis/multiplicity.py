"""The multiplicity of the Hartree landscape: whether distinct starts reach distinct
solutions, and how much those overlap (issue "The phase diagram of Fig. 2 from
simulation", item 1; docs/validation.md §11).

Per task of a hartree job with several starts (engine outputs ``starts_overlap``,
``starts_distance``, ``distinct_solutions``, ``starts_energy``): the other solutions are
the converged, stable ones whose density differs from the kept (lowest) one by more
than ``ed.hartree_engine.DISTINCT``; ``columns`` gives per task

    distinct_solutions   different converged, stable states among the starts;
    other_overlap_max    the largest |overlap| of another state's glass profile with the
                         kept one's (1: the same profile; NaN: no other ordered state, or
                         the kept state is the uniform one);
    other_energy_min     E_H per site of the lowest other state above the kept one.

    python -m simglass.analysis.multiplicity data/landscape_w0_n025_L8.csv.gz [more tables or .h5]
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

__all__ = ["columns", "summary", "main"]

UNIFORM_Q = 1e-10   # glass order below which the kept state is the uniform Fermi liquid


def columns(rec) -> dict:
    """The per-task scalars of the module docstring from a hartree record with the
    per-start outputs (energies per site from the size of its density); {} for a record
    without them or with one start."""
    from simglass.ed.hartree_engine import DISTINCT, STABLE_TOL
    if "starts_overlap" not in rec or np.size(rec["starts_overlap"]) < 2:
        return {}
    q = np.asarray(rec["starts_overlap"], dtype=float)
    dist = np.asarray(rec["starts_distance"], dtype=float)
    E = np.asarray(rec["starts_energy"], dtype=float)
    ok = np.asarray(rec["starts_converged"], dtype=bool) & (np.asarray(rec["starts_stability"]) >= -STABLE_TOL)
    other = ok & (dist > DISTINCT)
    N = np.size(rec["density"])
    return {"distinct_solutions": int(rec["distinct_solutions"]),
            "other_overlap_max": float(np.nanmax(np.abs(q[other]))) if np.isfinite(q[other]).any() else np.nan,
            "other_energy_min": float((E[other].min() - rec["energy"]) / N) if other.any() else np.nan}


def summary(points) -> list[dict]:
    """Per point (analysis.load points of hartree jobs): realisations, the fraction whose
    kept (lowest) state is the uniform one (glass_order < UNIFORM_Q), the mean number of
    distinct states, the fraction of realisations with more than one, and over those the
    median |overlap| and E_H gap per site of the nearest other state."""
    out = []
    for p in points:
        recs = [r for r in p.records if "starts_overlap" in r or "distinct_solutions" in r]
        rows = [columns(r) if "starts_overlap" in r else r for r in recs]
        keep = [i for i, r in enumerate(rows) if r and np.isfinite(r["distinct_solutions"])]
        if not keep:
            continue
        rows = [rows[i] for i in keep]
        k = np.array([r["distinct_solutions"] for r in rows], dtype=float)
        q = np.array([r["other_overlap_max"] for r in rows], dtype=float)
        e = np.array([r["other_energy_min"] for r in rows], dtype=float)
        many = k > 1
        q0 = np.array([recs[i].get("glass_order", np.nan) for i in keep], dtype=float)
        out.append({"params": p.params, "R": len(rows), "kept_uniform": float(np.mean(q0 < UNIFORM_Q)),
                    "states_mean": float(k.mean()),
                    "states_max": int(k.max()), "multiple": float(many.mean()),
                    "overlap_median": float(np.nanmedian(q[many])) if many.any() else np.nan,
                    "gap_median": float(np.nanmedian(e[many])) if many.any() else np.nan})
    return out


def main(argv=None) -> int:
    from simglass.options import InputError

    from .compact import load_any
    ap = argparse.ArgumentParser(prog="python -m simglass.analysis.multiplicity", description=__doc__.split("\n\n")[0])
    ap.add_argument("paths", nargs="+", help="hartree results files (.h5) or compact tables (.csv, .csv.gz)")
    a = ap.parse_args(argv)
    try:
        points = load_any(a.paths, "hartree")[1]
    except (OSError, ValueError, InputError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    rows = summary(points)
    if not rows:
        print("error: no task with several starts (outputs starts_overlap, distinct_solutions)", file=sys.stderr)
        return 2
    print("n_particles  J     R   kept q=0  states (mean, max)  >1 state   median |overlap|  median gap/site")
    for r in rows:
        P = r["params"]
        print(f"{P.get('n_particles', P.get('density', np.nan)):<11g} {P['J']:<5g} {r['R']:3d}   {r['kept_uniform']:5.2f}    "
              f"{r['states_mean']:5.2f} {r['states_max']:3d}          {r['multiple']:5.2f}      "
              f"{r['overlap_median']:8.3f}          {r['gap_median']:.2e}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
