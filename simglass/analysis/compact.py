"""Compact per-task tables of scalars (data/*.csv) from results files, and reading them
back as analysis points, so that committed production data are re-analysed by the same
code as a results file (issue 16).  Results files (HDF5, with orbitals and spectra) stay
out of git; the tables keep one row per completed task:

    # job: <job file>; commit: <commit that produced the results>; engine: <engine>; dims: <1 or 3>
    L,<other model parameters>,realization,<scalar keys of the record>

L is the linear extent of a cubic lattice (dims 3) or the length of a chain (dims 1), or
the extents of another 3D lattice written AxBxC (the small ED clusters, 2x2x3).
Engine ``mc`` tables also hold the fields as counts of |phi - mu|/J on a fine grid
(columns absphi_k, analysis.coulomb_gap.absphi_counts), enough to refit alpha; engine
``ed`` tables Eq. 42's (J²/N) Σ χ² (column glass_susceptibility) when the response was
computed; engine ``hartree`` tables the level curvatures binned in |E - mu| (columns n_E{k}, lnc_E{k},
analysis.level_bins) when the results hold them (``--no-counts`` leaves them out), and with several starts the multiplicity
of the landscape (analysis.multiplicity.columns).

    python -m simglass.analysis.compact results/x.h5 [more.h5 ...] --job jobs/x.toml --out data/x.csv [--keys ...] [--digits 8]

Values are written with 8 significant digits (``--digits``: fewer for tables whose
values carry less, so that the committed data stay small; quantities formed by
cancellation lose digits: the specific heat (⟨E²⟩ - ⟨E⟩²)/T² of a thermal table at low T,
which analysis.thermal.specific_heat reports as NaN where the digits do not resolve it).
A committed table is rewritten with fewer digits, its header, parameter columns and
every integer and text cell unchanged, by

    python -m simglass.analysis.compact --rewrite data/x.csv.gz [more ...] --digits 6 [--verbatim COLUMN]

(``--verbatim``: a column left as it is, e.g. energies that an analysis subtracts; repeat
it for several).

A table whose name ends in .csv.gz is written and read gzip-compressed (the same text;
large tables stay small in git).
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from .files import written
from .load import load_points

__all__ = ["HARTREE_KEYS", "MC_KEYS", "KEYS", "export", "rewrite", "read_table", "load_any", "is_table"]

HARTREE_KEYS = ("converged", "stable", "stability", "residual", "iterations", "response_products",
                "energy_per_site", "gap", "level_spacing", "ln_g_mean", "ln_g_mean_4", "ln_g_mean_16",
                "r_mean", "r_below_mean", "r_above_mean", "glass_order")
MC_KEYS = ("energy", "C_sk", "mu", "pair_stable", "min_pair_delta", "restarts_hit")
THERMAL_KEYS = ("C_sk", "C_spin", "h2", "measurements", "equilibration_z", "round_trips_min", "equilibrated")
ED_KEYS = ("energy", "converged", "degeneracy", "charge_gap", "hartree_energy", "hartree_converged",
           "hartree_stable", "hartree_expectation")
THERMAL_PER_T = ("temperatures", "energy", "energy2", "q2", "q4")   # per temperature: columns NAME_k
THERMAL_CONNECTED = ("q2_shared", "q2_disjoint")    # the same, for tasks run with four chains
OPTIONAL_KEYS = ("C_spin", "h2")       # default keys written only by tasks whose code stores them
KEYS = {"hartree": HARTREE_KEYS, "mc": MC_KEYS, "thermal": THERMAL_KEYS, "ed": ED_KEYS}   # default keys per engine
PARAMS = ("L", "J", "W", "t", "density")           # first columns; other scalar parameters follow


def _derived(engine, rec, params, counts=True, digits=8):
    """Columns computed from a record's arrays: engine mc, the |phi|/J counts (unless
    ``counts`` is False); engine hartree, the curvatures binned in |E - mu|
    (analysis.level_bins) when the record has them (unless ``counts`` is False), and
    analysis.multiplicity.columns;
    engine thermal, THERMAL_PER_T, THERMAL_CONNECTED (four chains) and (unless ``counts`` is False)
    P(0, T) (analysis.thermal.phi0_density) at each temperature k as columns NAME_k and
    p_phi0_k (the histograms P(q), P(phi) stay in the results file)."""
    if engine == "hartree":     # binned curvatures; with several starts, the multiplicity
        from .level_bins import columns
        from .multiplicity import columns as multiplicity
        out = columns(rec) if counts and "g_energy_levels" in rec else {}
        out.update(multiplicity(rec))
        return {k: _scalar(v, digits) for k, v in out.items()}
    if engine == "ed":          # Eq. 42's (J²/N) Σ χ² when the response was computed
        if "chi" not in rec:
            return {}
        from .ed_hartree import glass_susceptibility
        return {"glass_susceptibility": _scalar(glass_susceptibility(rec["chi"], params["J"]), digits)}
    if engine == "thermal":     # the per-temperature averages, one column per temperature
        from .load import lattice_key
        from .thermal import phi0_density
        per_t = {name: rec[name] for name in THERMAL_PER_T}
        per_t.update({name: rec[name] for name in THERMAL_CONNECTED
                      if name in rec and np.all(np.isfinite(np.asarray(rec[name], float)))})
        try:        # P(0, T) needs histogram edges at ±0.05 J; other histograms: no columns
            if counts:
                per_t["p_phi0"] = phi0_density(rec, int(np.prod(lattice_key(params))), float(params["J"]))
        except ValueError:
            pass
        return {f"{name}_{k}": _scalar(v, digits) for name, vals in per_t.items() for k, v in enumerate(vals)}
    if engine != "mc" or not counts:
        return {}
    from .coulomb_gap import absphi_counts
    return {f"absphi_{k}": int(c) for k, c in enumerate(absphi_counts(rec["phi"], params["J"]))}


def export(paths, out, job_file, keys=None, commit=None, counts=True, digits=8):
    """Write the completed tasks of the results files ``paths`` (one engine) as a CSV
    table of ``keys`` (scalars; default ``KEYS`` of the engine) with the model
    parameters; returns the number of rows.  ``commit``: default the commits recorded in
    the results files (the code that produced them).  ``counts``: engine mc, keep the
    |phi|/J counts (columns absphi_k; not needed for energies); engine thermal, keep
    P(0, T) (columns p_phi0_k; not needed for the SK model); engine hartree, keep the
    curvatures binned in |E - mu| (columns n_E{k}, lnc_E{k}; not needed for the glass order).  ``digits``: significant
    digits of the values (an integer from 3 to 17).  Raises ValueError for lattices
    that are neither 3D nor chains, mixed engines or mixed dimensions, and for ``digits``
    out of range."""
    _check_digits(digits)
    from simglass.results import read_results
    if commit is None:
        found = []
        for path in paths:
            f, _ = read_results(path)
            with f:
                found.append(str(f.attrs.get("git_commit", "unknown"))[:12])
        commit = " ".join(dict.fromkeys(found))
    rows, engine, dims, extra = [], None, None, None
    for path in paths:
        job, points = load_points(path)
        engine = engine or job.engine
        if job.engine != engine:
            raise ValueError(f"{path}: engine {job.engine!r}, the others are {engine!r}")
        for p in points:
            L = np.atleast_1d(p.params["L"])
            if L.size not in (1, 3):
                raise ValueError(f"{path}: compact tables hold 3D lattices or chains only, "
                                 f"got L = {p.params['L']}")
            if dims not in (None, L.size):
                raise ValueError(f"{path}: lattices of {L.size} and {dims} dimensions in one table")
            dims = L.size
            others = sorted(k for k in p.params if k not in PARAMS and np.ndim(p.params[k]) == 0)
            extra = others if extra is None else extra
            for r, rec in zip(p.realizations, p.records):
                row = {"L": int(L[0]) if np.all(L == L[0]) else "x".join(str(int(x)) for x in L),
                       "realization": r}
                row.update({k: _scalar(p.params[k]) for k in PARAMS[1:] + tuple(extra) if k in p.params})
                row.update({k: _scalar(rec.get(k, np.nan), digits) for k in keys or KEYS.get(engine, ())
                            if keys or k in rec or k not in OPTIONAL_KEYS})
                row.update(_derived(engine, rec, p.params, counts, digits))
                rows.append(row)
    if not rows:
        raise ValueError(f"{', '.join(map(str, paths))}: no completed tasks")
    if engine == "thermal" and len({frozenset(r) for r in rows}) > 1:      # its columns are all numbers
        kinds = sorted({", ".join(sorted(set(r) ^ set(rows[0]))) or "-" for r in rows})
        raise ValueError(f"{', '.join(map(str, paths))}: tasks with different outputs in one table (columns "
                         f"not in every task: {'; '.join(kinds)}), e.g. two- and four-chain thermal "
                         "tasks or results written before an output existed: export them to separate tables")
    columns = list(PARAMS) + list(extra) + ["realization"] + [k for k in rows[0] if k not in PARAMS
                                                              and k not in extra and k != "realization"]
    fh = io.StringIO(newline="")
    fh.write(f"# job: {job_file}; commit: {commit}; engine: {engine}; dims: {dims}\n")
    w = csv.DictWriter(fh, columns, restval="")
    w.writeheader()
    w.writerows(rows)
    _write_text(out, fh.getvalue())
    return len(rows)


def _check_digits(digits):
    if isinstance(digits, bool) or not isinstance(digits, (int, np.integer)) or not 3 <= digits <= 17:
        raise ValueError(f"digits must be an integer from 3 to 17, got {digits!r}")


def _write_text(out, text):
    if str(out).endswith(".gz"):      # no name and no time in the gzip header: same table, same bytes
        with written(out, "wb") as f:
            f.write(gzip.compress(text.encode("utf-8"), mtime=0))
    else:
        with written(out, "w", newline="") as f:
            f.write(text)


def _rounded(cell: str, digits: int) -> str:
    """A table cell with its floating-point value rounded to ``digits`` significant
    digits (never longer than it was); integers (no '.', 'e'), empty cells, nan and text
    are returned unchanged."""
    if not cell or not any(c in cell for c in ".eE"):
        return cell
    try:
        x = float(cell)
    except ValueError:
        return cell
    if not np.isfinite(x):
        return cell
    short = f"{x:.{digits}g}"
    return short if len(short) <= len(cell) else cell      # never more digits than were stored


def rewrite(paths, digits: int, verbatim=()) -> list[int]:
    """Rewrite the compact tables ``paths`` (one path or several) in place with their
    floating-point values rounded to ``digits`` significant digits (3 to 17); the header
    line, the column names, the parameter columns and the realisation, the columns named
    in ``verbatim`` (a sequence of names), and every integer and text cell stay as they
    are.  Every table is read and checked before any is written, so an error leaves them
    all as they were.  Returns the number of rows of each.  Raises ValueError for a file
    that is not a compact table, ``digits`` out of range or a ``verbatim`` name that is
    not a column of a table; TypeError for ``verbatim`` given as one string."""
    _check_digits(digits)
    if isinstance(verbatim, str):
        raise TypeError(f"verbatim must be a sequence of column names, got the string {verbatim!r}")
    paths = [paths] if isinstance(paths, (str, Path)) else list(paths)
    texts = [_rewritten(path, digits, tuple(verbatim)) for path in paths]
    for path, (text, _) in zip(paths, texts):
        _write_text(path, text)
    return [n for _, n in texts]


def _rewritten(path, digits, verbatim) -> tuple[str, int]:
    """(text, rows) of the compact table ``path`` rounded as :func:`rewrite` describes."""
    if not is_table(path):
        raise ValueError(f"{path}: not a compact table (a .csv or .csv.gz file)")
    try:
        with _open(path) as fh:
            first = _first_line(fh, path)
            rows = [row for row in csv.reader(fh) if row]
    except (EOFError, OSError, csv.Error) as e:       # truncated gzip, NUL bytes
        raise ValueError(f"{path}: not a compact table ({e})") from None
    if not rows or "realization" not in rows[0]:
        raise ValueError(f"{path}: no 'realization' column")
    missing = [name for name in verbatim if name not in rows[0]]
    if missing:
        raise ValueError(f"{path}: verbatim column(s) {', '.join(missing)} not in the table")
    k = rows[0].index("realization") + 1             # parameters and realisation: verbatim
    kept = {i for i, name in enumerate(rows[0]) if i < k or name in verbatim}
    fh = io.StringIO(newline="")
    fh.write(first)
    w = csv.writer(fh)
    w.writerow(rows[0])
    w.writerows([c if i in kept else _rounded(c, digits) for i, c in enumerate(row)] for row in rows[1:])
    return fh.getvalue(), len(rows) - 1


def is_table(path) -> bool:
    """Whether ``path`` names a compact table (.csv or .csv.gz)."""
    return str(path).endswith((".csv", ".csv.gz"))


def _open(path):
    """A compact table's text stream for reading (gzip-decompressed for .gz)."""
    if str(path).endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8", newline="")
    return open(path, newline="")


def _first_line(fh, path) -> str:
    """The header line of an open compact table; ValueError (naming ``path``) for a file
    that is not one (not text, not gzip for .gz, or no '# job:' line)."""
    try:
        first = fh.readline()
    except (UnicodeDecodeError, OSError, EOFError) as e:     # gzip.BadGzipFile is an OSError
        raise ValueError(f"{path}: not a compact table ({e})") from None
    if not first.startswith("# job:"):
        raise ValueError(f"{path}: not a compact table (first line must be '# job: ...')")
    return first


def _scalar(v, digits=8):
    if v is None:
        return ""
    v = np.asarray(v)
    if v.dtype.kind in "biu":
        return int(v)
    return f"{float(v):.{digits}g}" if v.dtype.kind == "f" else str(v)


def _value(text):
    """A parameter cell: a number, None (empty) or a string (e.g. couplings = cavity)."""
    if text == "":
        return None
    try:
        return float(text)
    except ValueError:
        return text


def short_commits(header) -> str:
    """The commit(s) of a table header (space-separated when a job's tasks ran at several
    commits), each shortened to 10 characters."""
    return " ".join(c[:10] for c in str(header.get("commit", "?")).split())


def read_table(path):
    """(header, points) of a compact table: header the dict of its first comment line
    (job, commit, engine, dims); points like analysis.load's (params with L as [L, L, L],
    [A, B, C] for a cell written AxBxC, or [L] for a chain).  Parameter columns are those before ``realization``.  Reads
    .csv and .csv.gz.

    Raises ValueError for a file that is not a compact table (first line, columns).
    """
    with _open(path) as fh:
        first = _first_line(fh, path)
        header = dict(part.strip().split(": ", 1) for part in first[1:].split(";"))
        reader = csv.DictReader(fh)
        rows = list(reader)
        names = reader.fieldnames or []
    if "realization" not in names:
        raise ValueError(f"{path}: no 'realization' column")
    pcols = names[1:names.index("realization")]
    dims = int(header.get("dims", 3))
    by_point = {}
    for row in rows:
        params = {k: _value(row[k]) for k in pcols}
        params["L"] = ([int(x) for x in row["L"].split("x")] if "x" in row["L"]
                       else [int(row["L"])] * dims)
        key = tuple(sorted((k, str(v)) for k, v in params.items()))
        rec = {k: float(v) for k, v in row.items() if k not in pcols and k not in ("L", "realization")}
        p = by_point.setdefault(key, SimpleNamespace(params=params, realizations=[], records=[]))
        p.realizations.append(int(row["realization"]))
        p.records.append(rec)
    return header, list(by_point.values())


def load_any(paths, engine):
    """Points of one or more results files (.h5) or compact tables (.csv) of ``engine``,
    concatenated, each tagged with ``source`` = its input's position: realisation r of
    one input and of another are different samples (pieces of a scan must use different
    seeds).  Returns (sources, points), sources a list of strings naming each input
    (with job and commit for tables).

    Raises InputError for a table or results file of another engine.
    """
    from simglass.options import InputError
    if isinstance(paths, (str, bytes)) or not hasattr(paths, "__iter__"):
        paths = [paths]
    sources, points = [], []
    for i, path in enumerate(paths):
        if is_table(path):
            header, pts = read_table(path)
            if header.get("engine") != engine:
                raise InputError(f"{path}: table of engine {header.get('engine')!r}, expected {engine!r}")
            sources.append(f"{path} (job {header.get('job')}, commit {short_commits(header)})")
        else:
            _, pts = load_points(path, engine=engine)
            sources.append(str(path))
        for p in pts:
            p.source = i            # realisations of different inputs are different draws
        points += pts
    return sources, points


def main(argv=None):
    from simglass.cli import terminal_text
    ap = argparse.ArgumentParser(prog="python -m simglass.analysis.compact", description=terminal_text(__doc__.splitlines()[0]))
    ap.add_argument("results", nargs="+", help="results files (.h5) of one job or of its pieces; with "
                                               "--rewrite, compact tables")
    ap.add_argument("--job", help="the job file(s) that produced them, recorded in the header (required "
                                  "without --rewrite)")
    ap.add_argument("--out", help="CSV table to write (required without --rewrite)")
    ap.add_argument("--rewrite", action="store_true",
                    help="rewrite the given compact tables in place with --digits significant digits "
                         "(header, integers, text and the --verbatim columns unchanged)")
    ap.add_argument("--keys", nargs="+", default=None,
                    help="scalar keys of the records to keep (default: the engine's set, "
                         + "; ".join(f"{e}: {' '.join(k)}" for e, k in KEYS.items()) + ")")
    ap.add_argument("--no-counts", action="store_true",
                    help="engine mc: leave out the |phi|/J counts (energies only, e.g. the SK job); "
                         "engine thermal: leave out P(0, T) (columns p_phi0_k); "
                         "engine hartree: leave out the binned curvatures (columns n_E{k}, lnc_E{k})")
    ap.add_argument("--digits", type=int, default=8,
                    help="significant digits of the values, 3 to 17 (default 8)")
    ap.add_argument("--verbatim", action="append", default=[], metavar="COLUMN",
                    help="with --rewrite: a column left as it is (e.g. energies an analysis subtracts); "
                         "repeat the option for several")
    a = ap.parse_args(argv)
    if a.rewrite:
        given = [o for o, v in (("--job", a.job), ("--out", a.out), ("--keys", a.keys), ("--no-counts", a.no_counts))
                 if v]
        if given:
            ap.error(f"--rewrite rewrites the given tables in place; it takes only --digits and --verbatim, "
                     f"not {', '.join(given)}")
        try:
            counts = rewrite(a.results, a.digits, verbatim=a.verbatim)
        except (ValueError, OSError) as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        kept = f" ({', '.join(a.verbatim)} as they were)" if a.verbatim else ""
        for path, n in zip(a.results, counts):
            print(f"rewrote {path}: {n} rows, {a.digits} significant digits{kept}")
        return 0
    if a.verbatim:
        ap.error("--verbatim applies to --rewrite only")
    if a.job is None or a.out is None:
        ap.error("--job and --out are required (without --rewrite)")
    try:
        n = export(a.results, a.out, a.job, keys=a.keys, counts=not a.no_counts, digits=a.digits)
    except (ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"wrote {a.out}: {n} tasks")
    return 0


if __name__ == "__main__":
    from simglass.analysis.files import run_command
    sys.exit(run_command(main))
