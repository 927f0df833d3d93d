"""``simglass analyze``: the analyses of each engine, applied to a results file (also a
partial one of a running or killed job).  ``ANALYSES`` maps every engine of
simglass.engines.ENGINES to its analysis (tests/test_runner.py checks they match); an
engine from another package gets the per-point means of its record (``_means``)."""

from __future__ import annotations

from pathlib import Path

from simglass.results import read_results


def _disorder(path, job, args):
    from . import disorder_check
    return disorder_check.main([str(path)])


def _mc(path, job, args):
    from . import cavity_modes, coulomb_gap, sk_energy
    code = coulomb_gap.main(args)
    compensated = job.model.get("compensate") or any(job.scan.get("compensate", []))
    if compensated:
        code = max(code, sk_energy.main(args))
    cavity = job.model.get("couplings") == "cavity" or "cavity" in job.scan.get("couplings", [])
    if cavity or job.model.get("couplings") == "file" and cavity_modes.file_modes(path) is not None:
        code = max(code, cavity_modes.main(args))    # a couplings file with its mode functions g
    return code


def _thermal(path, job, args):
    from . import thermal
    return thermal.main(args)


def _hartree(path, job, args):
    from . import localization
    return localization.main(args + ["--x", "W" if "W" in job.scan else "J"])


def _ed(path, job, args):
    from . import ed_hartree
    return ed_hartree.main(args)


def _stiffness(path, job, args):
    from . import stiffness
    return stiffness.main(args)


def _saddle(path, job, args):
    from . import phase_boundary
    return phase_boundary.main(args)


def _means(path, job, args):
    """An engine without an analysis here (a plugin, simglass.engines.plugins): per
    parameter point, the disorder average and its standard error of every scalar of the
    record (analysis.load.task_table), on stdout and, with --out, in <results stem>_means.csv."""
    import pandas as pd
    from simglass.engines import origin
    from .files import write_text
    from .load import task_table
    from .stats import mean_sem
    df = task_table(path)
    skip = set(job.scan) | set(job.model) | {"N", "realization", "point"}
    rows = []
    for _, grp in df.groupby("point", sort=True):
        row = {**{k: grp[k].iloc[0] for k in job.scan}, "realizations": len(grp)}
        for c in (c for c in df.columns if c not in skip):
            row[c], row[f"{c}_sem"] = (float(x) for x in mean_sem(grp[c].astype(float)))
        rows.append(row)
    table = pd.DataFrame(rows)
    print(f"{path}: engine {job.engine} ({origin(job.engine)}): mean and standard error over realisations")
    print(table.to_string(index=False))
    if "--out" in args:
        out = Path(args[args.index("--out") + 1])
        out.mkdir(parents=True, exist_ok=True)
        write_text(out / f"{Path(path).stem}_means.csv", table.to_csv(index=False))
    return 0


# engine -> analysis: (results path, Job, CLI arguments [path, --out DIR]) -> exit code
# (an engine not listed, a plugin, gets _means)
ANALYSES = {"disorder": _disorder, "mc": _mc, "thermal": _thermal, "hartree": _hartree, "ed": _ed, "stiffness": _stiffness,
            "saddle": _saddle}


def status_counts(path) -> dict:
    """{"done": .., "failed": .., "pending": ..} of a results file (pending: tasks not
    stored, or being written)."""
    from simglass.results import read_consistent, stored_tasks

    def read(f, job):
        st = stored_tasks(f, job, path).status
        c = {"done": int((st == 1).sum()), "failed": int((st == 2).sum())}
        c["pending"] = len(st) - c["done"] - c["failed"]
        return c
    return read_consistent(path, read)


def analyze(path, out=None) -> int:
    """Run every analysis that fits the file's engine; returns an exit code (1, with one
    line, when the file has no completed task: there is nothing to analyse)."""
    import sys
    f, job = read_results(path)
    f.close()
    c = status_counts(path)
    if c["done"] == 0:
        print(f"simglass: {path}: no completed task ({c['failed']} failed, {c['pending']} pending): "
              "nothing to analyse" + ("; `simglass info` lists them, the failed ones hold their "
                                      "tracebacks" if c["failed"] else ""), file=sys.stderr)
        return 1
    args = [str(path)] + (["--out", str(Path(out))] if out else [])
    return ANALYSES.get(job.engine, _means)(path, job, args)
