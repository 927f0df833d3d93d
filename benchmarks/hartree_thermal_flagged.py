"""The flagged tasks of a T > 0 Hartree job solved again with the current solver (issue 35).

Reads a job file and its compact table (simglass.analysis.compact), picks the tasks the
table flags (not converged or not stable), and runs each again exactly as the runner
does (simglass.tasks.run_task: the same disorder, engine seed, starts and options), with
``max_iter`` replaced by each budget given.  Printed per task: the table's F and
diagonalisations, then per budget converged / stable, F, the diagonalisations and the
wall time in units of one numpy.linalg.eigh of the same size (one thread); then per
budget the count of tasks that are now converged and stable, and their F against the
table's (negative: lower).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/hartree_thermal_flagged.py jobs/hartree_finite_t_loc_T010.toml \\
        data/hartree_finite_t_loc_T010.csv.gz [--max-iter 1000 3000] [--L 6]
"""

import argparse
import time

import numpy as np

from hartree import eigh_time            # benchmarks/hartree.py: one eigh of an N x N matrix, seconds
from simglass.analysis.compact import read_table
from simglass.jobfile import load_job
from simglass.tasks import run_task


def flagged_rows(table):
    """(L, J, realisation, F, diagonalisations) of the table's rows that are not converged
    or not stable."""
    out = []
    for p in read_table(table)[1]:
        for r, rec in zip(p.realizations, p.records):
            if not (rec["converged"] and rec["stable"]):
                out.append((p.params["L"][0], float(p.params["J"]), r, rec["free_energy"], int(rec["iterations"])))
    return sorted(out)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("job")
    ap.add_argument("table")
    ap.add_argument("--max-iter", type=int, nargs="+", default=[1000, 3000])
    ap.add_argument("--L", type=int, nargs="+", help="only these sizes")
    a = ap.parse_args(argv)
    job = load_job(a.job)
    tasks = {(t.params["L"][0], t.params["J"], t.realization): t for t in job.tasks()}
    cases = [c for c in flagged_rows(a.table) if a.L is None or c[0] in a.L]
    t_eigh = {L: eigh_time(L ** 3) for L in sorted({c[0] for c in cases})}
    print(f"{a.job}: {len(cases)} flagged tasks in {a.table}; budgets {a.max_iter} per start")
    out = {b: [] for b in a.max_iter}
    for L, J, r, F_old, it_old in cases:
        line = [f"L = {L} J/t = {J:g} r = {r}: table F {F_old:.5f} diag {it_old}"]
        for b in a.max_iter:
            job.options["max_iter"] = b
            t0 = time.perf_counter()
            rec = run_task(job, tasks[(L, J, r)])
            t = (time.perf_counter() - t0) / t_eigh[L]
            ok = bool(rec["converged"] and rec["stable"])
            out[b].append((ok, float(rec["free_energy"]) - F_old))
            line.append(f"| {b}: conv {int(rec['converged'])} stable {int(rec['stable'])} F {float(rec['free_energy']):.5f} "
                        f"diag {int(rec['iterations'])} t/eigh {t:.0f}")
        print(" ".join(line), flush=True)
    for b, rs in out.items():
        d = np.array([x[1] for x in rs if x[0]])
        tail = f"; F - table F over them: median {np.median(d):+.3f}, range {d.min():+.3f} .. {d.max():+.3f}" if d.size else ""
        print(f"max_iter {b}: converged and stable {sum(x[0] for x in rs)} of {len(rs)}{tail}")


if __name__ == "__main__":
    main()
