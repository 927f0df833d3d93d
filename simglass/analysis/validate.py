"""``simglass validate``: run the comparison jobs of a profile, analyse their files as
``simglass analyze`` does, and write the report (issue 7).

A profile is a directory of job files, one per role below.  ``--quick`` uses
``jobs/validate_quick/`` (minutes on 2 cores), ``--full`` the production jobs of
``jobs/`` (hours to days; resumable, under ``mpiexec`` when launched so).  Each job's
results go to ``OUT/<role>.h5`` (rerunning resumes them), the analyses' CSV tables and
figures to ``OUT/<role>/``, the report to ``OUT/report.{html,md}`` and
``OUT/summary.json``.
"""

from __future__ import annotations

import contextlib
import io
import os
import time
from pathlib import Path

from simglass.options import InputError

from .files import write_text
from . import checks

JOBS = Path(__file__).resolve().parents[2] / "jobs"
DATA = Path(__file__).resolve().parents[2] / "data"
PRODUCTION = {"coulomb_gap": [DATA / "coulomb_gap_tabu.csv.gz", DATA / "coulomb_gap_tabu_4096.csv.gz",
                              DATA / "coulomb_gap_tabu_small.csv.gz", DATA / "coulomb_gap_tabu_256.csv.gz"],
              "sk_energy": [DATA / "sk_ground_state_tabu.csv.gz"],
              "sk_energy_budget": [DATA / "sk_ground_state_tabu_long.csv.gz", DATA / "sk_ground_state_tabu_long2b.csv.gz",
                                   DATA / "sk_ground_state_tabu_long3.csv.gz", DATA / "sk_ground_state_tabu_long4.csv"],
              "anderson": [DATA / "anderson_check.csv.gz", DATA / "anderson_check_b.csv.gz",
                           DATA / "anderson_check_c.csv.gz", DATA / "anderson_check_d.csv.gz",
                           DATA / "anderson_check_e.csv.gz", DATA / "anderson_check_f.csv.gz"],
              "localization": [DATA / "localization_scan.csv.gz", DATA / "localization_scan_L10.csv.gz",
                               DATA / "localization_scan_L10b.csv.gz", DATA / "localization_scan_L12.csv",
                               DATA / "localization_scan_L12b.csv.gz", DATA / "localization_scan_L12c.csv.gz"],
              # Eq. 19: n = 0.05, 0.1, 0.2 and the n = 1/2 scan on the sizes common to all (L = 6-10)
              "low_density_lng": [DATA / "low_density_lng_005.csv.gz", DATA / "low_density_lng_010.csv.gz",
                                  DATA / "low_density_lng_020.csv.gz", DATA / "low_density_lng_020b.csv.gz",
                                  DATA / "localization_scan.csv.gz",
                                  DATA / "localization_scan_L10.csv.gz", DATA / "localization_scan_L10b.csv.gz"]}

# role -> job file of each profile (engine of the role in brackets)
ROLES = ("disorder", "coulomb_gap", "sk_energy", "anderson", "localization", "ed", "stiffness", "saddle",
         "low_density", "cavity_modes", "cavity_gaussian")
PROFILES = {
    "quick": {r: JOBS / "validate_quick" / f"{r}.toml" for r in ROLES},
    "full": {"disorder": JOBS / "disorder_check.toml", "coulomb_gap": JOBS / "coulomb_gap_tabu.toml",
             "sk_energy": JOBS / "sk_ground_state_tabu.toml", "anderson": JOBS / "anderson_check.toml",
             "localization": JOBS / "localization_scan.toml", "ed": JOBS / "ed_glass.toml",
             "stiffness": JOBS / "stiffness.toml", "saddle": JOBS / "saddle_phase_boundary.toml",
             "low_density": JOBS / "low_density_thouless.toml", "cavity_modes": JOBS / "cavity_modes.toml",
             "cavity_gaussian": JOBS / "cavity_modes_gaussian.toml"},
}
ENGINE_OF = {"disorder": "disorder", "coulomb_gap": "mc", "sk_energy": "mc", "anderson": "hartree",
             "localization": "hartree", "ed": "ed", "stiffness": "stiffness", "saddle": "saddle",
             "low_density": "stiffness", "cavity_modes": "mc", "cavity_gaussian": "mc"}

# figures of the report: (role, file in OUT/<role>/, caption)
FIGURES = [
    ("coulomb_gap", "coulomb_gap.png", "P(φ) of the t = 0 glass with the α|φ|/J² line (Eq. 14) and α against 1/√N."),
    ("sk_energy", "sk_energy.png", "Ground-state energy of the compensated model against N^(−2/3), Parisi's limit."),
    ("anderson", "ln_g.png", "Typical Thouless conductance ⟨ln g⟩ of the levels near μ at J = 0 against box disorder W/t (Eq. 17), with the pair crossings."),
    ("anderson", "r_mean.png", "⟨r⟩ of the levels near μ at J = 0 against box disorder W/t (Eq. 17)."),
    ("localization", "ln_g.png", "Typical Thouless conductance ⟨ln g⟩ of the Hartree levels near μ against J/t for each L, with the pair crossings."),
    ("localization", "r_mean.png", "⟨r⟩ of the Hartree levels near μ against J/t for each L, with the crossing."),
    ("localization", "dos.png", "Hartree density of states ρ(E − μ) for several J/t (Fig. 3 analogue)."),
    ("ed", "ed_hartree.png", "ED against Hartree on the same realisations: energies, densities, gaps."),
    ("ed", "glass_onset.png", "Eq. 42's sum with the exact ED response against J/t, and the saddle point's x/(1 − x) on the same momenta."),
    ("stiffness", "stiffness.png", "Charge stiffness from twisted boundaries, ED and Hartree on the same realisations."),
    ("low_density", "thouless.png", "Thouless number of the Hartree levels against J/t per density, and J_loc against n (Eq. 19)."),
    ("saddle", "phase_boundary.png", "Fermi liquid → metallic glass line of the infinite lattice with the n^(−5/6) law (Fig. 4 analogue)."),
    ("saddle", "response.png", "D(0) − D(Ω) at the transition and for free fermions, infinite lattice (Fig. 5 analogue)."),
    ("saddle_grid", "saddle_D.png", "D(0) − D(Ω) of the saddle point on the 6³ grid approaching J_c (finite-grid analogue)."),
    ("cavity", "cavity_modes.png", "Beyond the paper: t = 0 ground states of cavity couplings against the load M/N "
     "(energy, weight on the leading mode of V, Coulomb-gap slope, overlaps of independent states), "
     "with the Gaussian ensemble of the same N (dashed, bands)."),
]


def profile_files(profile: str, jobs_dir=None) -> dict:
    if jobs_dir is not None:
        d = Path(jobs_dir)
        if not d.is_dir():
            raise InputError(f"--jobs {jobs_dir}: not a directory")
        return {r: d / f"{r}.toml" for r in ROLES}
    return PROFILES[profile]


def run_jobs(files: dict, out: Path, comm=None, progress=True, overwrite=False) -> dict:
    """Run (or resume) each role's job into OUT/<role>.h5; returns per-role summaries.
    A missing job file is skipped (its rows say "not run")."""
    from simglass.jobfile import load_job
    from simglass.runner import run_job
    rank = comm.Get_rank() if comm is not None else 0
    runs = {}
    present = [(r, f) for r, f in files.items() if Path(f).exists()]
    for k, (role, f) in enumerate(present, 1):
        job = load_job(f)
        if job.engine != ENGINE_OF[role]:
            raise InputError(f"{f}: role {role!r} needs engine {ENGINE_OF[role]!r}, the file has {job.engine!r}")
        if rank == 0 and progress:
            print(f"validate [{k}/{len(present)}] {role}: {f} ({len(job.tasks())} tasks)", flush=True)
        s = run_job(job, output=str(out / f"{role}.h5"), overwrite=overwrite, progress=progress, comm=comm)
        runs[role] = {"job": str(f), "tasks": s.total, "done": s.done, "skipped": s.skipped,
                      "failed": len(s.failed), "wall_time_s": round(s.wall_time, 1)}
    return runs


def analyze_files(out: Path, roles) -> dict:
    """``simglass analyze`` of the results file of each role in ``roles`` (the jobs this
    run wrote or resumed: run_job refuses a file written by another job) into
    OUT/<role>/ (stdout kept in OUT/<role>/analysis.txt); returns {role: path of the
    results file}.  Results files in OUT of other roles (left from an earlier run with
    other jobs) are ignored, with a note."""
    from .dispatch import analyze
    paths = {}
    for role in ROLES:
        h5 = out / f"{role}.h5"
        if not h5.exists():
            continue
        if role not in roles:
            print(f"validate: ignoring {h5}: not a job of this run (left from an earlier one)", flush=True)
            continue
        d = out / role
        d.mkdir(parents=True, exist_ok=True)
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            analyze(h5, d)
        write_text(d / "analysis.txt", buf.getvalue())
        paths[role] = h5
    return paths


def table_rows(paths: dict, out: Path) -> list:
    """All rows of the report, in the order of issue 7."""
    p = paths.get
    rows = [checks.alpha(p("coulomb_gap")), checks.sk_energy(p("sk_energy")),
            checks.hartree_shift(p("disorder"))]
    loc, wj = checks.localization(p("localization"))
    rows += [wj, checks.anderson(p("anderson")), loc] + checks.production(PRODUCTION) + \
        checks.phase_diagram_rows(DATA) + [
             checks.stiffness_drop(p("stiffness")),
             checks.low_density(p("low_density")),
             checks.sum_rule(), checks.sum_rule_infinite()] + checks.saddle_rows(p("saddle"))
    rows += checks.cavity_rows([p("cavity_modes"), p("cavity_gaussian")], out / "cavity")
    rows += checks.thermal_rows(DATA)
    rows.append(checks.eq42_cluster(p("ed")))
    source = checks.eq42_source(p("ed"))
    if source is not None:                 # the figure from the row's own results
        from .ed_hartree import glass_onset, onset_figure, saddle_curves
        onset = glass_onset(source)
        if onset:
            (out / "ed").mkdir(parents=True, exist_ok=True)
            onset_figure(onset, out / "ed" / "glass_onset.png", theory=saddle_curves(onset, 0.5))
    return rows


def saddle_figure(out: Path, L=6, density=4 / 9):
    from .saddle_grid import d_omega, figure
    d = out / "saddle_grid"
    d.mkdir(parents=True, exist_ok=True)
    jc, curves = d_omega(density, 1.0, L)
    figure(jc, curves, density, 1.0, L, d / "saddle_D.png")


def validate(profile="quick", out="validation", jobs_dir=None, comm=None, progress=True,
             overwrite=False) -> int:
    from .report import write_report
    t0 = time.perf_counter()
    out = Path(out)
    files = profile_files(profile, jobs_dir)
    rank = comm.Get_rank() if comm is not None else 0
    if rank == 0:
        out.mkdir(parents=True, exist_ok=True)
    runs = run_jobs(files, out, comm, progress, overwrite)
    if rank != 0:
        return 0
    if progress:
        print("validate: analysing results and writing the report", flush=True)
    for role, name, _ in FIGURES:   # only figures drawn by this run: OUT may hold older ones
        (out / role / name).unlink(missing_ok=True)
    paths = analyze_files(out, set(runs))
    saddle_figure(out)
    rows = table_rows(paths, out)
    figures = [(f"{role}/{name}", cap) for role, name, cap in FIGURES if (out / role / name).exists()]
    meta = {"profile": profile if jobs_dir is None else str(jobs_dir), "runs": runs, "cores": os.cpu_count(),
            "wall_time_s": round(time.perf_counter() - t0, 1)}
    write_report(out, rows, figures, meta)
    failed = sum(r["failed"] for r in runs.values())
    for r in rows:
        print(f"  {r.verdict:>12}  {r.kind:>10}  {r.equation:>10}  {r.quantity}")
    print(f"validate: wrote {out / 'report.html'}, {out / 'report.md'}, {out / 'summary.json'} "
          f"({meta['wall_time_s']:.0f} s)")
    if failed:
        print(f"validate: {failed} tasks failed (tracebacks in the results files; rerun to retry)")
        return 1
    return 0

