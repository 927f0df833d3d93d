"""The engine registry: one entry per engine, imported on first use.  The adapter
module of engine NAME is ``<package>.NAME_engine`` (its package holds the physics it calls).

An engine is a module with

* ``OPTIONS``: dict name -> :class:`simglass.options.Option` (its [options] table); an
  option added later must default to the behaviour before it (results files written
  without it resume, simglass.results);
* ``run(model, rng, **options) -> dict``: a pure function of the model, a numpy
  Generator and the options, returning datasets (arrays, numbers, nested dicts);
* optionally, for an option ``continue_along`` (a scanned key), ``run(model, rng, chain,
  **options)``: ``chain`` holds the models of the same realisation at the earlier values
  of that key (simglass.tasks.run_task), to continue a solution along the scan;
* optionally ``check_point(params, options)``, raising ValueError for a parameter
  point it cannot run (checked before any task starts);
* optionally ``memory_gb(params, options)``: the memory one task needs (GiB); a job
  whose tasks need more than the machine has is refused before anything is written;
* optionally ``FLAGS``: dict dataset name -> the value a sound result has (for example
  ``converged: True``); ``simglass info`` counts, per point, the tasks flagged otherwise;
* or, for an engine without lattice and disorder (``LATTICE_FREE = True``, e.g. the
  infinite-lattice saddle point), ``run_params(params, rng, **options)`` instead of
  ``run``; its jobs need no L.

Engines never read job files or write files.
"""

from __future__ import annotations

import importlib

from .options import InputError

__all__ = ["ENGINES", "get_engine", "describe", "options_markdown"]

ENGINES = {
    "disorder": "simglass.disorder_engine",
    "mc": "mc.mc_engine",
    "hartree": "ed.hartree_engine",
    "ed": "ed.ed_engine",
    "stiffness": "ed.stiffness_engine",
    "saddle": "simglass.meanfield.saddle_engine",
}


def get_engine(name: str):
    """The engine module registered as ``name`` (``ENGINES``), imported on first use.

    Raises InputError for an unknown name, listing the engines."""
    if name not in ENGINES:
        raise InputError(f"engine = {name!r}: unknown engine; allowed: " + ", ".join(sorted(ENGINES)))
    return importlib.import_module(ENGINES[name])


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


def describe() -> list[dict]:
    """Every engine with its module, one-line summary and options, read from the engine
    modules' declarations (OPTIONS): ``simglass engines`` and the docs' options tables
    are printed from this, so they cannot drift from the code."""
    out = []
    for name, module in ENGINES.items():
        eng = get_engine(name)
        opts = [{"name": k, "type": o.kind.__name__ + (" or list" if o.many else ""), "default": _fmt_default(o),
                 "allowed": o.allowed or "any", "help": o.help} for k, o in eng.OPTIONS.items()]
        out.append({"name": name, "module": module, "summary": (eng.__doc__ or "").strip().split("\n\n")[0]
                    .replace("\n", " "), "options": opts, "flags": dict(getattr(eng, "FLAGS", {})),
                    "lattice_free": bool(getattr(eng, "LATTICE_FREE", False))})
    return out


def options_markdown() -> str:
    """The engines and their [options] tables as Markdown (docs/engines.md is built from it)."""
    lines = ["# Engines and their options", "",
             "Generated from the engines' option declarations (`OPTIONS` in each engine module) "
             "when the documentation is built; `simglass engines` prints the same. Units: energies "
             "and temperatures in the unit of t, J and W (docs/conventions.md).", ""]
    for e in describe():
        lines += [f"## `{e['name']}`", "", f"Module `{e['module']}`. {e['summary']}", ""]
        if e["flags"]:
            lines += ["Flags counted by `simglass info`: " + ", ".join(
                f"`{k}` (sound: {str(v).lower()})" for k, v in e["flags"].items()) + ".", ""]
        lines += ["| option | type | default | allowed | meaning |", "|---|---|---|---|---|"]
        for o in e["options"]:
            row = [f"`{o['name']}`", o["type"], f"`{o['default']}`", o["allowed"], o["help"]]
            lines.append("| " + " | ".join(c.replace("|", "\\|") for c in row) + " |")
        lines.append("")
    return "\n".join(lines)
