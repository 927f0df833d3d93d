"""Job files (TOML): one engine, model parameters, scans, realisations, options.

    engine = "mc"                    # required, see simglass.engines.ENGINES
    output = "results/coulomb.h5"    # default: results/<job file stem>.h5
    seed = 1                         # root seed s (default 0)
    realizations = 100               # realisations r = 0 .. R-1 per parameter point
    first_realization = 0            # or r = r0 .. r0+R-1 (the rest of a job on a new machine)
    description = "free text"

    [model]                          # see MODEL_OPTIONS
    L = [8, 8, 8]
    t = 0.0
    J = 1.0

    [scan]                           # lists; the tasks are their cartesian product
    J = [0.5, 1.0, 2.0]              # x realisations

    [options]                        # the engine's own options (engine.OPTIONS)

A key given both in [model] and [scan] is an error, as is any unknown key.
"""

from __future__ import annotations

import functools
import itertools
import json
import math
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from .engines import get_engine
from .options import InputError, Option, validate_section

__all__ = ["Job", "Task", "load_job", "parse_job", "MODEL_OPTIONS"]

_pos = lambda x: x >= 0  # noqa: E731

MODEL_OPTIONS = {
    "L": Option(int, check=lambda x: x >= 1, allowed="(integers >= 1)", many=True,
                help="lattice extents, e.g. [4, 4, 4]"),
    "periodic": Option(bool, True, many=True, help="periodic boundaries, per direction or all"),
    "t": Option(float, 0.0, _pos, ">= 0", "hopping amplitude"),
    "J": Option(float, 1.0, _pos, ">= 0", "coupling scale, Var V_ij = J^2/N"),
    "W": Option(float, 0.0, _pos, ">= 0", "onsite disorder (Gaussian std, or box width)"),
    "onsite": Option(str, "gaussian", lambda x: x in ("gaussian", "box", "file"),
                     "'gaussian', 'box' or 'file'", "onsite distribution, or 'file' (onsite_file)"),
    "density": Option(float, None, lambda x: 0 < x < 1, "in the open interval (0, 1)",
                      "filling n; N_f = ⌊n N + ½⌋ (simglass.particle_number)"),
    "n_particles": Option(int, None, _pos, ">= 0 and <= N", "number of fermions N_f"),
    "compensate": Option(bool, False, help="eps_i += n Σ_j V_ij"),
    "couplings": Option(str, "gaussian", lambda x: x in ("gaussian", "cavity", "file"),
                        "'gaussian', 'cavity' or 'file'", "coupling ensemble, or 'file' (couplings_file)"),
    "n_modes": Option(int, None, lambda x: x >= 1, ">= 1", "cavity modes M"),
    "couplings_file": Option(str, None, lambda x: x != "", "a path (HDF5)",
                             "HDF5 file with V (and eps) for couplings = 'file'; relative to the job file"),
    "onsite_file": Option(str, None, lambda x: x != "", "a path (HDF5)",
                          "HDF5 file with eps for onsite = 'file'; relative to the job file"),
}

TOP_OPTIONS = {
    "engine": Option(str, help="engine name"),
    "output": Option(str, None, help="results file"),
    "seed": Option(int, 0, _pos, ">= 0", "root seed"),
    "realizations": Option(int, 1, lambda x: x >= 1, ">= 1", "realisations per point"),
    "first_realization": Option(int, 0, _pos, ">= 0",
                                "index r0 of the first realisation: the job runs r = r0 .. r0 + realizations - 1"),
    "description": Option(str, "", help="free text"),
}


@dataclass(frozen=True)
class Task:
    index: int
    point: int
    realization: int
    params: dict  # the full model parameters of this point

    @property
    def name(self) -> str:
        return f"p{self.point:04d}_r{self.realization:05d}"


@dataclass
class Job:
    engine: str
    seed: int
    realizations: int
    output: str
    model: dict            # fixed model parameters (defaults filled)
    scan: dict             # key -> list of values
    options: dict          # engine options (defaults filled)
    text: str = ""         # the job file as written
    description: str = ""
    source: dict = field(default_factory=dict)
    first_realization: int = 0   # realisations r = first_realization .. first_realization + realizations - 1
    couplings: object = None   # simglass.couplings_file.CouplingsSource of couplings = "file", once checked
    onsite_source: object = None   # the same of onsite = "file" (the onsite file), once checked

    def files(self) -> dict:
        """{[model] key: checked file} of the files the job reads ("couplings_file",
        "onsite_file": simglass.couplings_file.CouplingsSource), once checked."""
        return {s.key: s for s in (self.couplings, self.onsite_source) if s is not None}

    @property
    def identity(self) -> str:
        """Canonical JSON of what the job computes (the output path excluded): two job
        files with the same identity produce the same tasks and may share a results file."""
        src = {k: v for k, v in self.source.items() if k not in ("output", "description")}
        return json.dumps(src, sort_keys=True)

    def normalised(self) -> dict:
        """What the job computes, with defaults filled in and values converted (J = 1 and
        J = 1.0 alike, a default written out or left out alike); the output path, the
        description and the engine options' values are left out (results.py checks the
        options the tasks ran with separately).  The order of the [scan] keys counts: it
        numbers the points."""
        return {"engine": self.engine, "seed": self.seed, "realizations": self.realizations,
                "first_realization": self.first_realization, "model": self.model, "scan": self.scan, "scan order": list(self.scan),
                "options": sorted(self.options)}   # the scan order numbers the points

    def first_difference(self, other: "Job") -> str | None:
        """The first key in which ``other`` computes something else ("[model] J: 1.0 here,
        2.0 there"), or None."""
        a, b = self.normalised(), other.normalised()
        for key in a:
            if isinstance(a[key], dict):
                for k in sorted(set(a[key]) | set(b[key])):
                    va, vb = a[key].get(k, "(not set)"), b[key].get(k, "(not set)")
                    if va != vb:
                        return f"[{key}] {k}: {vb!r} there, {va!r} here"
            elif a[key] != b[key]:
                return f"{key}: {b[key]!r} there, {a[key]!r} here"
        return None

    def points(self) -> list[dict]:
        keys = list(self.scan)
        pts = []
        for combo in itertools.product(*(self.scan[k] for k in keys)):
            p = dict(self.model)
            p.update(zip(keys, combo))
            pts.append(p)
        return pts

    @functools.cached_property
    def _point_list(self) -> list[dict]:
        return self.points()

    @property
    def n_tasks(self) -> int:
        """len(tasks()), without building the list."""
        return len(self._point_list) * self.realizations

    def task(self, index: int) -> Task:
        """tasks()[index], without building the list (the runner's workers look up the
        tasks they are handed one at a time)."""
        pts = self._point_list
        r, p = divmod(int(index), len(pts))
        return Task(int(index), p, self.first_realization + r, pts[p])

    def tasks(self) -> list[Task]:
        """Every task, realisation-major: realisation 0 of every point, then realisation 1
        of every point, ...  A run stopped part-way (or a job split into pieces by time)
        thus leaves every point with the same number of realisations, not whole points
        missing.  A task's name and disorder depend on (point, realisation) only, so the
        order does not change what a task computes."""
        return [self.task(i) for i in range(self.n_tasks)]


DEFAULT_DENSITY = 0.5
MAX_TASKS = 10 ** 7   # the runner and the results file keep per-task lists and maps in memory: beyond this, split the job


def sites_and_particles(params: dict) -> tuple[int, int]:
    """(N, N_f) of a parameter point: N = Π L, N_f = n_particles, or particle_number(n, N)
    with n = density (default ½)."""
    from .model import particle_number
    L = params["L"] if isinstance(params["L"], list) else [params["L"]]
    N = int(math.prod(L))
    if params.get("n_particles") is not None:
        return N, int(params["n_particles"])
    n = params.get("density")
    return N, particle_number(DEFAULT_DENSITY if n is None else n, N)


def machine_memory_gb() -> float:
    """Physical memory of this machine in GiB (inf where the OS does not say)."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2 ** 30
    except (ValueError, OSError, AttributeError):
        return math.inf


def _check_point(params: dict, where: str):
    """Cross-key checks of one parameter point (everything a single key cannot tell)."""
    L = params["L"] if isinstance(params["L"], list) else [params["L"]]
    N = 1
    for x in L:
        N *= x
    per = params["periodic"]
    if isinstance(per, list) and len(per) != len(L):
        raise InputError(f"{where}.periodic = {per!r}: needs one entry per lattice direction ({len(L)})")
    if params["density"] is not None and params["n_particles"] is not None:
        raise InputError(f"{where}: give only one of 'density' and 'n_particles'")
    if params["n_particles"] is not None and params["n_particles"] > N:
        raise InputError(f"{where}.n_particles = {params['n_particles']}: allowed values are 0 .. N = {N}")
    if params["couplings"] == "cavity" and params["n_modes"] is None:
        raise InputError(f"{where}: couplings = 'cavity' needs n_modes (>= 1)")
    if params["couplings"] != "cavity" and params["n_modes"] is not None:
        raise InputError(f"{where}.n_modes: only allowed with couplings = 'cavity'")
    if params["couplings"] == "file" and params["couplings_file"] is None:
        raise InputError(f"{where}: couplings = 'file' needs couplings_file = \"path.h5\" (docs/jobs.md)")
    if params["couplings"] != "file" and params["couplings_file"] is not None:
        raise InputError(f"{where}.couplings_file: only allowed with couplings = 'file'")
    if params["onsite"] == "file" and params["onsite_file"] is None:
        raise InputError(f"{where}: onsite = 'file' needs onsite_file = \"path.h5\" (docs/jobs.md)")
    if params["onsite"] != "file" and params["onsite_file"] is not None:
        raise InputError(f"{where}.onsite_file: only allowed with onsite = 'file'")


def _check_file_keys(model_in: dict, scan: dict, engine, name: str):
    """Keys that make no sense with couplings = "file" or onsite = "file" (docs/jobs.md
    "Couplings from a file"): J (V is used as it is), W (eps is used as it is), a
    scanned couplings, couplings_file, onsite or onsite_file, and an engine without a
    lattice."""
    for key in ("couplings", "onsite"):
        if f"{key}_file" in scan:
            raise InputError(f"[scan] {key}_file: cannot be scanned; one {key} file per job "
                             f"(write one job file per {key} file)")
        if "file" in scan.get(key, []):
            raise InputError(f"[scan] {key}: 'file' cannot be scanned; set {key} = 'file' in [model]")
    if model_in.get("onsite") == "file":
        if "W" in model_in or "W" in scan:
            table = "model" if "W" in model_in else "scan"
            raise InputError(f"{table}.W: not allowed with onsite = 'file': the file's eps is used as it is "
                             "(W scales nothing; scale eps in the file, or write one file per scale)")
        if getattr(engine, "LATTICE_FREE", False):
            raise InputError(f"model.onsite = 'file': engine {name!r} has no lattice and no onsite energies")
    if model_in.get("couplings") != "file":
        return
    for key in ("J",):
        if key in model_in or key in scan:
            table = "model" if key in model_in else "scan"
            raise InputError(f"{table}.J: not allowed with couplings = 'file': the file's V is used as it "
                             "is (J scales nothing; scale V in the file, or write one file per scale)")
    if getattr(engine, "LATTICE_FREE", False):
        raise InputError(f"model.couplings = 'file': engine {name!r} has no lattice and no couplings")


def _check_file_and_eps(job: Job):
    """With the couplings file checked: eps given once (the couplings file or the onsite
    file), and W, onsite and compensate only where eps is not the couplings file's."""
    if not job.couplings.has_eps:
        return
    if job.model.get("onsite") == "file":
        raise InputError(f"model.onsite_file: not allowed: couplings_file {job.couplings.path!r} holds eps "
                         "already; give the onsite energies once (remove eps from that file, or "
                         "onsite = 'file' and onsite_file from the job)")
    for key in ("W", "onsite", "compensate"):
        if key in job.source.get("model", {}) or key in job.scan:
            table = "model" if key in job.source.get("model", {}) else "scan"
            raise InputError(f"{table}.{key}: not allowed: couplings_file {job.couplings.path!r} holds eps, "
                             "which is used as it is (remove eps from the file to draw it from W and onsite)")


def parse_job(text: str, name: str = "job", base_dir=None) -> Job:
    """Parse and validate the text of a job file; raises InputError.

    With ``couplings = "file"`` (``onsite = "file"``), the couplings file (onsite file;
    relative paths: relative to ``base_dir``) is checked and described in
    ``job.couplings`` (``job.onsite_source``) only when ``base_dir`` is given
    (:func:`load_job` gives the job file's directory); without it the job's keys are
    checked but not the files (reading a results file needs neither)."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise InputError(f"{name}: TOML syntax error: {e}") from None
    top = {k: v for k, v in raw.items() if not isinstance(v, dict)}
    tables = {k: v for k, v in raw.items() if isinstance(v, dict)}
    unknown = sorted(set(tables) - {"model", "scan", "options"})
    if unknown:
        raise InputError(f"unknown table [{unknown[0]}]; allowed tables: [model], [scan], [options]")
    unknown_top = sorted(set(top) - set(TOP_OPTIONS))
    if unknown_top:
        raise InputError(f"unknown key {unknown_top[0]!r}; allowed top-level keys: "
                         + ", ".join(sorted(TOP_OPTIONS)) + ", and tables [model], [scan], [options]")
    top = validate_section("job", TOP_OPTIONS, top)
    engine = get_engine(top["engine"])  # raises InputError naming the engine
    if "model" not in tables:
        raise InputError("missing required table [model] (needs at least L)")
    scan_raw = tables.get("scan", {})
    both = sorted(set(scan_raw) & set(tables["model"]))
    if both:
        raise InputError(f"key {both[0]!r} is given in both [model] and [scan]; give it once")
    unknown_scan = sorted(set(scan_raw) - set(MODEL_OPTIONS))
    if unknown_scan:
        raise InputError(f"[scan] unknown key {unknown_scan[0]!r}; scannable keys: "
                         + ", ".join(sorted(MODEL_OPTIONS)))
    scan = {}
    for k, vals in scan_raw.items():
        if not isinstance(vals, list) or not vals:
            raise InputError(f"scan.{k} = {vals!r}: must be a non-empty list of values")
        scan[k] = [MODEL_OPTIONS[k].convert(f"scan.{k}", v) for v in vals]
    # the model section must hold every required key unless scanned
    model_in = dict(tables["model"])
    spec = {k: (o if k not in scan else Option(o.kind, None, many=o.many)) for k, o in MODEL_OPTIONS.items()}
    if getattr(engine, "LATTICE_FREE", False) and "L" not in scan:  # e.g. the infinite-lattice saddle
        spec["L"] = Option(int, [1], MODEL_OPTIONS["L"].check, MODEL_OPTIONS["L"].allowed, "not used", many=True)
    model = validate_section("model", spec, model_in)
    for k in scan:
        model.pop(k)
    _check_file_keys(model_in, scan, engine, top["engine"])
    options = validate_section("options", engine.OPTIONS, tables.get("options", {}))
    axis = options.get("continue_along", "none")
    if axis != "none" and len(scan.get(axis, ())) < 2:
        raise InputError(f"options.continue_along = {axis!r}: {axis} must be scanned with at least two "
                         f"values ([scan] has: {', '.join(sorted(scan)) or 'nothing'})")
    output = top["output"] or str(Path("results") / (Path(name).stem + ".h5"))
    job = Job(engine=top["engine"], seed=top["seed"], realizations=top["realizations"],
              first_realization=top["first_realization"], output=output, model=model, scan=scan, options=options, text=text,
              description=top["description"], source=raw)
    n_points = math.prod(len(v) for v in scan.values())
    if n_points * job.realizations > MAX_TASKS:
        raise InputError(f"{n_points} points x realizations = {job.realizations} = "
                         f"{n_points * job.realizations} tasks: at most {MAX_TASKS} per job; split it into several jobs with different seeds")
    memory = machine_memory_gb()
    for p, params in enumerate(job.points()):
        where = "model" if not scan else f"scan point {p}"
        _check_point(params, where)
        try:
            if hasattr(engine, "check_point"):
                engine.check_point(params, options)
            need = engine.memory_gb(params, options) if hasattr(engine, "memory_gb") else 0.0
        except ValueError as e:
            raise InputError(f"{where}: {e}") from None
        if need > memory:
            raise InputError(f"{where}: L = {params['L']} needs about {need:.3g} GiB per task (engine "
                             f"{job.engine!r}), more than this machine's {memory:.3g} GiB")
    if base_dir is not None:
        _check_files(job, base_dir, memory)
    return job


def _check_files(job: Job, base_dir, memory: float):
    """Check the couplings file and the onsite file of ``job`` (those it names), relative
    to ``base_dir``, and keep them described in ``job.couplings``, ``job.onsite_source``."""
    from . import couplings_file
    lattices = [p["L"] if isinstance(p["L"], list) else [p["L"]] for p in job.points()]
    if job.model.get("couplings") == "file":
        job.couplings = couplings_file.inspect(couplings_file.resolve(job.model["couplings_file"], base_dir),
                                               lattices=lattices,
                                               realizations=job.first_realization + job.realizations,
                                               memory_gb=memory)
        _check_file_and_eps(job)
    if job.model.get("onsite") == "file":
        job.onsite_source = couplings_file.inspect_onsite(
            couplings_file.resolve(job.model["onsite_file"], base_dir), lattices=lattices,
            realizations=job.first_realization + job.realizations)


def load_job(path) -> Job:
    """Read and check a job file (format: docs/jobs.md); returns the Job.

    Raises InputError (one line naming the key) for a missing or unreadable file and for
    any invalid content (``parse_job``), including a couplings file (``couplings =
    "file"``) or an onsite file (``onsite = "file"``), resolved relative to the job
    file's directory, that does not fit the job (simglass.couplings_file.inspect,
    inspect_onsite), and eps given by both."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise InputError(f"job file {str(path)!r} not found") from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as e:
        raise InputError(f"job file {str(path)!r} cannot be read: {e}") from None
    return parse_job(text, name=str(path), base_dir=path.parent)
