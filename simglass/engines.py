"""The engine registry: one entry per engine, imported on first use.  The adapter
module of engine NAME is ``<package>.NAME_engine`` (its package holds the physics it calls).

An engine is a module with

* ``OPTIONS``: dict name -> :class:`simglass.options.Option` (its [options] table); an
  option added later must default to the behaviour before it (results files written
  without it resume, simglass.results);
* ``OUTPUTS``: dict name -> :class:`simglass.outputs.Output` (shape, unit, meaning, the
  options under which it is stored): the record ``run`` returns, every key and only
  those (tests/test_docs.py runs every engine to check it); the engines page, ``simglass
  engines`` and :func:`simglass.analysis.load.columns` are printed from it;
* ``run(model, rng, **options) -> dict``: a pure function of the model, a numpy
  Generator and the options, returning datasets (arrays, numbers, strings);
* optionally, for an option ``continue_along`` (a scanned key),
  ``run(model, rng, chain, **options)``: ``chain`` holds the models of the same
  realisation at the earlier values of that key (simglass.tasks.run_task), to continue a
  solution along the scan;
* optionally ``check_point(params, options)``, raising ValueError for a parameter
  point it cannot run (checked before any task starts);
* optionally ``memory_gb(params, options)``: the memory one task needs (GiB); a job
  whose tasks need more than the machine has is refused before anything is written;
* optionally ``FLAGS``: dict dataset name -> the value a sound result has (for example
  ``converged: True``); ``simglass info`` counts, per point, the tasks flagged otherwise;
* optionally ``DERIVED``: dict name -> (source entry, function) for record entries added
  after results files were written: simglass.analysis.load computes them from the source entry
  for tasks that lack them;
* or, for an engine without lattice and disorder (``LATTICE_FREE = True``, e.g. the
  infinite-lattice saddle point), ``run_params(params, rng, **options)`` instead of
  ``run``; its jobs need no L.

Engines never read job files or write files.

Other packages add engines through the entry-point group ``simglass.engines``
(simglass.plugins; docs/writing_an_engine.md).
"""

from __future__ import annotations

import importlib

__all__ = ["ENGINES", "names", "get_engine", "origin", "outputs", "describe", "options_markdown"]

ENGINES = {
    "disorder": "simglass.disorder_engine",
    "mc": "simglass.mc.mc_engine",
    "thermal": "simglass.mc.thermal_engine",
    "hartree": "simglass.ed.hartree_engine",
    "ed": "simglass.ed.ed_engine",
    "stiffness": "simglass.ed.stiffness_engine",
    "saddle": "simglass.meanfield.saddle_engine",
}


def names() -> list[str]:
    """Every engine name: the built-in ones (``ENGINES``), then those of other packages
    (simglass.plugins.found, also those that cannot be used), sorted."""
    from .plugins import found
    return list(ENGINES) + sorted(set(found()) - set(ENGINES))


def get_engine(name: str):
    """The engine module registered as ``name`` (``ENGINES``, else a plugin:
    simglass.plugins.load), imported on first use.

    Raises InputError for an unknown name, listing the engines, and for a plugin that
    cannot be used (one line naming it, its module and package, and why)."""
    if name in ENGINES:
        return importlib.import_module(ENGINES[name])
    from .plugins import load
    return load(name)


def origin(name: str) -> str:
    """Where engine ``name`` comes from: "built in", or "plugin of package P V".  Raises
    KeyError for an unknown engine."""
    from .plugins import found
    if name in ENGINES:
        return "built in"
    p = found()[name]
    return f"plugin of package {p.package} {p.version}"


def outputs(name: str) -> dict:
    """The record one task of engine ``name`` stores: dataset name -> Output
    (simglass.outputs), the engine's ``OUTPUTS`` and, for an engine with a lattice,
    ``COMMON_OUTPUTS`` (``n_particles``, added by simglass.tasks.run_task).

    Raises InputError for an unknown engine."""
    from .outputs import COMMON_OUTPUTS
    eng = get_engine(name)
    common = {} if getattr(eng, "LATTICE_FREE", False) else COMMON_OUTPUTS
    return {**eng.OUTPUTS, **{k: v for k, v in common.items() if k not in eng.OUTPUTS}}


def unsound(flags: dict, get) -> list[str]:
    """The flags of a done task that differ from a sound result: ``flags`` is an engine's
    ``FLAGS`` (dataset -> sound value), ``get(name)`` the stored value or None when the
    dataset is absent (absent counts as sound).  The one definition of a flagged task,
    used by ``simglass info`` and by the analyses."""
    return [k for k, good in flags.items() if (v := get(k)) is not None and bool(v) != good]


def _fmt_default(opt):
    from .options import REQUIRED
    if opt.default is REQUIRED:
        return "required"
    if opt.default is None:
        return "none"
    if isinstance(opt.default, bool):
        return "true" if opt.default else "false"
    if isinstance(opt.default, str):
        return f'"{opt.default}"'
    if isinstance(opt.default, list):
        return "[" + ", ".join(f'"{v}"' if isinstance(v, str) else str(v) for v in opt.default) + "]"
    return f"{opt.default:g}" if isinstance(opt.default, float) else str(opt.default)


def describe(engines=None) -> list[dict]:
    """The engines ``engines`` (default: the built-in ones, ``ENGINES``) with their module,
    origin, one-line summary, options and stored record, read from the engine modules'
    declarations (OPTIONS, OUTPUTS): ``simglass engines`` and the docs' engines page are
    printed from this, so they cannot drift from the code.

    Returns a list of dicts with keys name, module, origin (:func:`origin`), summary,
    options (dicts: name, type, default, allowed, help), outputs (dicts: name, shape,
    kind, unit, when, meaning, column), flags and lattice_free.  Raises InputError for
    an unknown engine or a plugin that cannot be used (:func:`get_engine`)."""
    out = []
    for name in ENGINES if engines is None else engines:
        eng = get_engine(name)
        opts = [{"name": k, "type": o.kind.__name__ + (" or list" if o.many else ""), "default": _fmt_default(o),
                 "allowed": o.allowed or "any", "help": o.help} for k, o in eng.OPTIONS.items()]
        outs = [{"name": k, "shape": o.shape, "kind": o.kind, "unit": o.unit, "when": o.when or "always",
                 "meaning": o.meaning, "column": o.column} for k, o in outputs(name).items()]
        out.append({"name": name, "module": eng.__name__, "origin": origin(name), "summary": (eng.__doc__ or "").strip().split("\n\n")[0]
                    .replace("\n", " "), "options": opts, "outputs": outs, "flags": dict(getattr(eng, "FLAGS", {})),
                    "lattice_free": bool(getattr(eng, "LATTICE_FREE", False))})
    return out


def _row(cells) -> str:
    return "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"


def options_markdown() -> str:
    """The engines, their [options] tables and their stored records as Markdown (the
    documentation's engines page, docs/_generated/engines.md, is built from it)."""
    lines = ["# Engines: options and stored records", "",
             "Generated from the engines' declarations (`OPTIONS` and `OUTPUTS` in each engine module) "
             "when the documentation is built; `simglass engines NAME` prints the same. Units: energies "
             "and temperatures in the unit of t, J and W ([conventions](../conventions.md)).", "",
             "**Stored records.** Each completed task stores one record in its group of the results file "
             "(HDF5): every entry is a dataset of the group, except strings, which are attributes of the "
             "group. The shapes use N (sites), the values of the engine's options (e.g. `phi_bins`) "
             "and the symbols their meaning defines. `simglass.analysis.load.task_table` makes one column of "
             "each scalar number or flag (\"column\" below); arrays are read with "
             "`simglass.analysis.load.load_points` ([Analysing a results file in Python]"
             "(../tutorials/python_analysis.md)). "
             "Every engine with a lattice also stores `n_particles` (N_f, an integer). The unit "
             "\"energy\" is the job's energy unit; \"1\" is dimensionless. Engines of other packages "
             "are listed by `simglass engines` ([Writing an engine](../writing_an_engine.md)).", ""]
    for e in describe():
        lines += [f"## `{e['name']}`", "", f"Module `{e['module']}`. {e['summary']}", ""]
        if e["flags"]:
            lines += ["Flags counted by `simglass info`: " + ", ".join(
                f"`{k}` (sound: {str(v).lower()})" for k, v in e["flags"].items()) + ".", ""]
        lines += [f"### `{e['name']}` options", "",
                  "| option | type | default | allowed | meaning |", "|---|---|---|---|---|"]
        for o in e["options"]:
            lines.append(_row([f"`{o['name']}`", o["type"], f"`{o['default']}`", o["allowed"], o["help"]]))
        lines += ["", f"### `{e['name']}` record (per task)", "",
                  "| dataset | shape | type | unit | stored | in task_table | meaning |",
                  "|---|---|---|---|---|---|---|"]
        for o in e["outputs"]:
            lines.append(_row([f"`{o['name']}`", o["shape"], o["kind"], o["unit"] or "–", o["when"],
                               "column" if o["column"] else "–", o["meaning"]]))
        lines.append("")
    return "\n".join(lines)
