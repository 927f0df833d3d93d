"""The engine contract (simglass.engines): what every engine, built in or from another
package, must satisfy, as checks that tests call.

* :func:`problems`: the declarations (OPTIONS, OUTPUTS, run, FLAGS, DERIVED) are there
  and fit together.  Checked whenever a plugin is loaded (simglass.plugins.load).
* :func:`check_declarations`: also help texts, defaults that pass their own checks and
  no defaults in ``run`` (they live in OPTIONS).
* :func:`check_tiny_job`: a tiny job runs through ``simglass run`` twice with
  bit-identical results, its record is read back by ``simglass.analysis.load.load_points`` and is
  what OUTPUTS declares (names, number of axes, types; FLAGS and DERIVED entries
  included), and ``simglass info`` summarises the file (for an engine from another
  package, with that package's name and version, recorded in the file).

tests/test_engines.py runs :func:`check_engine` on every built-in engine; a plugin's own
tests run it on its engine (docs/writing_an_engine.md).  The checks raise
AssertionError with a message naming the engine and the rule broken.
"""

from __future__ import annotations

import contextlib
import inspect
import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

__all__ = ["problems", "check_declarations", "check_tiny_job", "check_engine"]

_KIND = {"float": "f", "int": "iu", "bool": "b"}     # Output.kind -> numpy dtype kinds


def problems(eng) -> list[str]:
    """What is missing or inconsistent in the declarations of engine module ``eng``
    (simglass.engines, module docstring), one short sentence each; [] for a sound one."""
    from .options import Option
    from .outputs import Output
    out = []
    for attr, cls in (("OPTIONS", Option), ("OUTPUTS", Output)):
        table = getattr(eng, attr, None)
        if not isinstance(table, dict):
            out.append(f"no {attr} (a dict: name -> {cls.__module__}.{cls.__name__})")
        elif bad := [k for k, v in table.items() if not isinstance(v, cls)]:
            out.append(f"{attr}[{bad[0]!r}] is not a {cls.__module__}.{cls.__name__}")
    if out:
        return out
    fn = "run_params" if getattr(eng, "LATTICE_FREE", False) else "run"
    run = getattr(eng, fn, None)
    if not callable(run):
        return [f"no function {fn}(" + ("params" if fn == "run_params" else "model") + ", rng, **options)"]
    kwonly = {k for k, p in inspect.signature(run).parameters.items() if p.kind is p.KEYWORD_ONLY}
    if kwonly != set(eng.OPTIONS):
        out.append(f"the keyword-only arguments of {fn}() are not the OPTIONS: {sorted(kwonly)} "
                   f"against {sorted(eng.OPTIONS)}")
    flags = getattr(eng, "FLAGS", {})
    if not isinstance(flags, dict) or set(flags) - set(eng.OUTPUTS):
        out.append("FLAGS must be a dict: dataset of OUTPUTS -> the value of a sound result")
    derived = getattr(eng, "DERIVED", {})
    if not isinstance(derived, dict) or any(
            not (isinstance(v, tuple) and len(v) == 2 and callable(v[1]) and {k, v[0]} <= set(eng.OUTPUTS))
            for k, v in derived.items()):
        out.append("DERIVED must be a dict: entry of OUTPUTS -> (source entry of OUTPUTS, function)")
    out += [f"{h} is not a function" for h in ("check_point", "memory_gb")
            if hasattr(eng, h) and not callable(getattr(eng, h))]
    return out


def check_declarations(name: str):
    """Engine ``name`` (a built-in or an installed plugin) has sound declarations
    (:func:`problems`), help text for every option, defaults in OPTIONS only, and
    defaults that pass their own checks."""
    from .engines import get_engine
    from .options import REQUIRED
    eng = get_engine(name)
    bad = problems(eng)
    assert not bad, f"engine {name!r}: " + "; ".join(bad)
    run = eng.run_params if getattr(eng, "LATTICE_FREE", False) else eng.run
    params = inspect.signature(run).parameters
    for key, opt in eng.OPTIONS.items():
        assert params[key].default is inspect.Parameter.empty, \
            f"engine {name!r}: run() has a default for {key!r}; defaults live in OPTIONS"
        assert opt.help, f"engine {name!r}: option {key!r} has no help text"
        if opt.default is not REQUIRED and opt.default is not None:
            assert opt.convert(f"options.{key}", opt.default) == opt.default, \
                f"engine {name!r}: the default of {key!r} fails its own check"


def check_tiny_job(name: str, model: str, options: str, workdir, env: dict | None = None) -> dict:
    """Run a tiny job of engine ``name`` twice through ``simglass run`` in subprocesses
    (environment ``env``, default this one's) and check its results file (bit-identical
    reruns, the record against OUTPUTS, ``simglass info``, which shows the package and
    version of an engine from another package); returns the record of its one task.

    ``model`` and ``options`` are the lines of the job's [model] and [options] tables
    (TOML), e.g. ``"L = [8]"`` and ``"sweeps = 4"``, for one task that takes a second or
    less; ``density = 0.5`` is added unless ``model`` sets density.  ``workdir``: a
    directory for the job and results files (pytest's tmp_path)."""
    from simglass.analysis.load import load_points
    from .cli import main
    from .engines import get_engine, outputs
    from .plugins import package_of
    workdir = Path(workdir)
    eng = get_engine(name)
    dens = "" if "density" in model else "density = 0.5\n"
    job = workdir / f"{name}_tiny.toml"
    job.write_text(f'engine = "{name}"\nseed = 1\n[model]\n{model}\n{dens}[options]\n{options}\n')
    files = [workdir / f"{name}_tiny_{k}.h5" for k in (1, 2)]
    for out in files:
        r = subprocess.run([sys.executable, "-m", "simglass.cli", "run", str(job), "--output", str(out), "--quiet"],
                           capture_output=True, text=True, env=os.environ if env is None else env)
        assert r.returncode == 0, f"engine {name!r}: the tiny job failed (exit {r.returncode}): {r.stderr}"
    first, again = task_contents(files[0]), task_contents(files[1])
    assert first.keys() == again.keys() and all(
        first[t].keys() == again[t].keys() and all(_same_bits(first[t][k], again[t][k]) for k in first[t])
        for t in first), f"engine {name!r}: a rerun of the same job is not bit-identical"
    _, points = load_points(files[0], engine=name)
    assert len(points) == 1 and len(points[0].records) == 1, f"engine {name!r}: the task is not stored as done"
    rec = dict(points[0].records[0])   # numbers, arrays and strings (simglass.results.StoredTasks.record)
    declared = outputs(name)
    assert set(rec) <= set(declared), \
        f"engine {name!r}: stores {sorted(set(rec) - set(declared))}, not declared in OUTPUTS"
    always = {k for k, o in declared.items() if not o.when}
    assert always <= set(rec), f"engine {name!r}: OUTPUTS declares {sorted(always - set(rec))} (always stored), not stored"
    for key, value in rec.items():
        out = declared[key]
        if out.kind == "str":
            assert isinstance(value, str), f"engine {name!r}: {key!r} is declared a string"
            continue
        a = np.asarray(value)
        assert a.ndim == out.ndim, f"engine {name!r}: {key!r} has shape {a.shape}, declared {out.shape}"
        assert a.dtype.kind in _KIND[out.kind], f"engine {name!r}: {key!r} is {a.dtype}, declared {out.kind}"
    for flag in getattr(eng, "FLAGS", {}):
        assert flag in rec, f"engine {name!r}: FLAGS names {flag!r}, not in the record"
    if getattr(eng, "DERIVED", {}):
        _check_derived(name, eng.DERIVED, files[1], rec)
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = main(["info", str(files[0])])
    assert code == 0 and f"engine {name}," in buf.getvalue(), f"engine {name!r}: simglass info failed: {buf.getvalue()}"
    package = package_of(name)       # an engine from another package: its release is recorded and shown
    assert package is None or f"engine package: {package['name']} {package['version']}" in buf.getvalue(), \
        f"engine {name!r}: simglass info does not show its package {package}: {buf.getvalue()}"
    return rec


def check_engine(name: str, model: str, options: str, workdir, env: dict | None = None) -> dict:
    """:func:`check_declarations` and :func:`check_tiny_job`: the whole contract."""
    check_declarations(name)
    return check_tiny_job(name, model, options, workdir, env)


def task_contents(path) -> dict:
    """{task name: {record entry: value, "@status": "done" | "failed", "@params": JSON}} of
    a results file of either layout, read through simglass.results, for equality checks
    (also the tests' reader, tests/conftest.py)."""
    import json

    from .results import read_results, stored_tasks
    f, job = read_results(path)
    out = {}
    with f:
        tasks = stored_tasks(f, job, path)
        every = job.tasks()
        for i in np.flatnonzero(tasks.status > 0):
            d = dict(tasks.record(int(i))) if tasks.status[i] == 1 else {}
            d["@status"] = "done" if tasks.status[i] == 1 else "failed"
            d["@params"] = json.dumps(every[i].params, sort_keys=True)
            out[every[i].name] = d
    return out


def _same_bits(a, b) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


def _check_derived(name, derived, path, rec):
    """A file written before the DERIVED entries existed (they are deleted) reads the same."""
    import h5py
    from simglass.analysis.load import load_points
    with h5py.File(path, "a") as f:
        if "tasks" in f:                  # the group layout (simglass.group_layout)
            for g in f["tasks"].values():
                for key in derived:
                    del g[key]
        else:                             # the columns (simglass.column_layout)
            for key in derived:
                del f["columns"][key]
    _, old = load_points(path, engine=name)
    for key, (source, _) in derived.items():
        assert key in rec and source in rec, f"engine {name!r}: DERIVED {key!r} or its source not in the record"
        assert np.allclose(old[0].records[0][key], rec[key], rtol=1e-12, atol=1e-15), \
            f"engine {name!r}: DERIVED {key!r} computed from {source!r} differs from the stored value"
