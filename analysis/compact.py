"""Compact per-task tables of scalars (data/*.csv) from results files, and reading them
back as analysis points, so that committed production data are re-analysed by the same
code as a results file (issue 16).  Results files (HDF5, with orbitals and spectra) stay
out of git; the tables keep one row per completed task:

    # job: <job file>; commit: <commit that produced the results>; engine: <engine>
    L,J,W,t,density,realization,<scalar keys of the record>

    python -m analysis.compact results/x.h5 [more.h5 ...] --job jobs/x.toml --out data/x.csv [--keys ...]

Values are written with 8 significant digits.
"""

from __future__ import annotations

import argparse
import csv
import sys
from types import SimpleNamespace

import numpy as np

from .load import load_points

__all__ = ["HARTREE_KEYS", "export", "read_table", "load_any"]

HARTREE_KEYS = ("converged", "stable", "stability", "residual", "iterations", "response_products",
                "energy_per_site", "gap", "level_spacing", "ln_g_mean", "r_mean", "r_below_mean",
                "r_above_mean")
PARAMS = ("L", "J", "W", "t", "density")


def export(paths, out, job_file, keys=HARTREE_KEYS, commit=None):
    """Write the completed tasks of the results files ``paths`` (one engine) as a CSV
    table of ``keys`` (scalars) with the scan parameters; returns the number of rows.
    ``commit``: default the commits recorded in the results files (the code that
    produced them)."""
    from simglass.results import read_results
    if commit is None:
        found = []
        for path in paths:
            f, _ = read_results(path)
            with f:
                found.append(str(f.attrs.get("git_commit", "unknown"))[:12])
        commit = " ".join(dict.fromkeys(found))
    rows, engine = [], None
    for path in paths:
        job, points = load_points(path)
        engine = engine or job.engine
        if job.engine != engine:
            raise ValueError(f"{path}: engine {job.engine!r}, the others are {engine!r}")
        for p in points:
            L = np.atleast_1d(p.params["L"])
            if L.size != 3 or np.any(L != L[0]):
                raise ValueError(f"{path}: compact tables hold cubic L x L x L lattices only, "
                                 f"got L = {p.params['L']}")
            for r, rec in zip(p.realizations, p.records):
                rows.append([int(L[0])] + [p.params.get(k, "") for k in PARAMS[1:]]
                            + [r] + [_scalar(rec.get(k, np.nan)) for k in keys])
    with open(out, "w", newline="") as fh:
        fh.write(f"# job: {job_file}; commit: {commit}; engine: {engine}\n")
        w = csv.writer(fh)
        w.writerow(list(PARAMS) + ["realization"] + list(keys))
        w.writerows(rows)
    return len(rows)


def _scalar(v):
    v = np.asarray(v)
    if v.dtype.kind == "b":
        return int(v)
    return f"{float(v):.8g}" if v.dtype.kind in "fiu" else str(v)


def read_table(path):
    """(header, points) of a compact table: header the dict of its first comment line
    (job, commit, engine); points like analysis.load's (params with L as [L, L, L])."""
    with open(path) as fh:
        first = fh.readline()
        if not first.startswith("# job:"):
            raise ValueError(f"{path}: not a compact table (first line must be '# job: ...')")
        header = dict(part.strip().split(": ", 1) for part in first[1:].split(";"))
        rows = list(csv.DictReader(fh))
    by_point = {}
    for row in rows:
        params = {k: (float(row[k]) if row[k] != "" else None) for k in PARAMS[1:]}
        params["L"] = [int(row["L"])] * 3
        key = tuple(sorted((k, str(v)) for k, v in params.items()))
        rec = {k: float(v) for k, v in row.items() if k not in PARAMS and k != "realization"}
        p = by_point.setdefault(key, SimpleNamespace(params=params, realizations=[], records=[]))
        p.realizations.append(int(row["realization"]))
        p.records.append(rec)
    return header, list(by_point.values())


def load_any(paths, engine):
    """Points of one or more results files (.h5) or compact tables (.csv) of ``engine``,
    concatenated, each tagged with ``source`` = its input's position: realisation r of
    one input and of another are different samples (pieces of a scan must use different
    seeds).  Returns (sources, points), sources a list of strings naming each input
    (with job and commit for tables)."""
    from simglass.options import InputError
    if isinstance(paths, (str, bytes)) or not hasattr(paths, "__iter__"):
        paths = [paths]
    sources, points = [], []
    for i, path in enumerate(paths):
        if str(path).endswith(".csv"):
            header, pts = read_table(path)
            if header.get("engine") != engine:
                raise InputError(f"{path}: table of engine {header.get('engine')!r}, expected {engine!r}")
            sources.append(f"{path} (job {header.get('job')}, commit {header.get('commit', '?')[:10]})")
        else:
            _, pts = load_points(path, engine=engine)
            sources.append(str(path))
        for p in pts:
            p.source = i            # realisations of different inputs are different draws
        points += pts
    return sources, points


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m analysis.compact", description=__doc__.splitlines()[0])
    ap.add_argument("results", nargs="+", help="results files (.h5) of one job or of its pieces")
    ap.add_argument("--job", required=True, help="the job file(s) that produced them, recorded in the header")
    ap.add_argument("--out", required=True, help="CSV table to write")
    ap.add_argument("--keys", nargs="+", default=list(HARTREE_KEYS),
                    help="scalar keys of the records to keep (default: the hartree set)")
    a = ap.parse_args(argv)
    try:
        n = export(a.results, a.out, a.job, keys=a.keys)
    except (ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"wrote {a.out}: {n} tasks")
    return 0


if __name__ == "__main__":
    sys.exit(main())
