"""Engines from other packages: entry points in the group ``simglass.engines``
(``ENTRY_POINTS``) of the installed packages' metadata, name = the engine's name (the
``engine`` of job files), value = its module (docs/writing_an_engine.md; the example
package examples/plugin_engine).

They are found without importing them (:func:`found`); a plugin's module is imported
and its declarations checked (simglass.contract.problems) only when a job or
``simglass engines`` needs that engine (:func:`load`, called by
simglass.engines.get_engine).  A plugin that cannot be imported, lacks a declaration or
declares inconsistently, has the name of a built-in engine (which keeps it) or is
registered twice raises InputError with one line naming the plugin, its module and
package, and why; the other engines are not affected.
"""

from __future__ import annotations

import importlib
import importlib.metadata
from dataclasses import dataclass, replace
from functools import cache

from .options import InputError

__all__ = ["ENTRY_POINTS", "Plugin", "found", "load", "package_of"]

ENTRY_POINTS = "simglass.engines"


@dataclass(frozen=True)
class Plugin:
    """An engine registered by another package: entry point ``name = module`` of
    distribution ``package`` (version ``version``).  ``error``: why it cannot be used
    although found (a built-in's name, registered twice), or ""."""
    name: str
    module: str
    package: str
    version: str
    error: str = ""

    def where(self) -> str:
        """How messages name it: plugin 'NAME' (module M of package P V)."""
        return f"plugin {self.name!r} (module {self.module} of package {self.package} {self.version})"


@cache
def found() -> dict[str, Plugin]:
    """The engines of other packages, name -> :class:`Plugin`, from the entry points of
    the installed packages (read once per process; ``found.cache_clear()`` after
    installing one), including those that cannot be used, with their ``error``."""
    from .engines import ENGINES
    out = {}
    for ep in importlib.metadata.entry_points(group=ENTRY_POINTS):
        dist = getattr(ep, "dist", None)
        p = Plugin(ep.name, ep.value, dist.name if dist else "?", dist.version if dist else "?")
        other = out.get(ep.name)
        if ep.name in ENGINES:
            p = replace(p, error=f"{p.where()}: has the name of a built-in engine, which is used instead; "
                        "rename the entry point")
        elif other is not None and other.module != p.module:
            p = replace(p, error=f"{p.where()}: the name is also registered as module {other.module} of "
                        f"package {other.package}; uninstall one of them")
        elif other is not None:     # the same entry point seen twice
            continue
        out[ep.name] = p
    return out


def load(name: str):
    """The module of plugin engine ``name``, imported, with its declarations checked.

    Raises InputError for an unknown name (listing every engine) and for a plugin that
    cannot be used (module docstring), in one line."""
    from .contract import problems
    from .engines import names
    p = found().get(name)
    if p is None:
        raise InputError(f"engine = {name!r}: unknown engine; allowed: " + ", ".join(sorted(names())))
    if p.error:
        raise InputError(p.error)
    try:
        eng = importlib.import_module(p.module)
    except Exception as e:     # anything its import raises: the plugin's fault, not the job's
        text = " ".join(str(e).split())
        raise InputError(f"{p.where()}: cannot be imported: {type(e).__name__}" + (f": {text}" if text else "")) from None
    bad = problems(eng)
    if bad:
        raise InputError(f"{p.where()}: {bad[0]}" + (f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""))
    return eng


def package_of(name: str) -> dict | None:
    """{"name", "version", "module"} of the package engine ``name`` comes from (its
    distribution's metadata, importlib.metadata), what a results file records as
    ``engine_package``; None for a built-in engine (simglass's own version and commit
    say which one ran) or an unknown name."""
    from .engines import ENGINES
    p = None if name in ENGINES else found().get(name)
    return None if p is None else {"name": p.package, "version": p.version, "module": p.module}
