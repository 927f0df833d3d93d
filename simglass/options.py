"""Typed, typo-proof parameter schemas for job files and engine options.

Every error is an :class:`InputError` whose message names the key, the value given
and what is allowed; the command line turns it into one line on stderr and exit code 2.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

__all__ = ["InputError", "Option", "REQUIRED", "validate_section", "default_of", "defaults", "generator"]


class InputError(ValueError):
    """Bad user input (job file, command line, results file that does not fit)."""


REQUIRED = object()
INT64_MIN, INT64_MAX = -2 ** 63, 2 ** 63 - 1   # the integers a results file can store

_TYPE_NAMES = {int: "an integer", float: "a number", bool: "true or false", str: "a string"}


@dataclass(frozen=True)
class Option:
    """One parameter: its type, default, a check and a description of what is allowed.

    ``kind`` is int, float, bool or str; ``many=True`` also accepts a list of such
    values (e.g. lattice extents).  ``check`` returns True for allowed values.  Every
    value must be storable in the results file: a float finite (TOML allows inf and nan)
    unless ``finite=False``, an integer within 64 bits, a string without NUL.
    """
    kind: type
    default: Any = REQUIRED
    check: Callable[[Any], bool] | None = None
    allowed: str = ""
    help: str = ""
    many: bool = False
    finite: bool = True

    def convert(self, where: str, value):
        def one(v):
            if self.kind is float and isinstance(v, int) and not isinstance(v, bool):
                try:
                    v = float(v)
                except OverflowError:
                    raise InputError(f"{where} = {v!r}: too large for a number (at most about 1.8e308)") from None
            if self.kind is not bool and isinstance(v, bool) or not isinstance(v, self.kind):
                raise InputError(f"{where} = {v!r}: must be {_TYPE_NAMES[self.kind]}"
                                 + (f" {self.allowed}" if self.allowed else ""))
            if self.kind is int and not INT64_MIN <= v <= INT64_MAX:   # what HDF5 and numpy store
                raise InputError(f"{where} = {v!r}: must be an integer of at most 64 bits "
                                 f"(|{where.rpartition('.')[2]}| < 2**63)"
                                 + (f", {self.allowed}" if self.allowed else ""))
            if self.kind is str and "\0" in v:   # HDF5 strings end at a NUL
                raise InputError(f"{where} = {v!r}: must not contain a NUL character (\\u0000)")
            if self.kind is float and self.finite and not math.isfinite(v):
                raise InputError(f"{where} = {v!r}: must be a finite number"
                                 + (f" {self.allowed}" if self.allowed else ""))
            if self.check is not None and not self.check(v):
                raise InputError(f"{where} = {v!r}: allowed values are {self.allowed}")
            return v
        if self.many and isinstance(value, list):
            if not value:
                raise InputError(f"{where} = []: must not be empty")
            return [one(v) for v in value]
        return one(value)


def validate_section(where: str, spec: dict[str, Option], values: dict) -> dict:
    """Check ``values`` against ``spec``: unknown keys, missing required keys, types,
    ranges.  Returns the values with defaults filled in.

    Raises InputError (one line naming the table and key) for an unknown key, a wrong type,
    a non-finite number or a value out of range.
    """
    if not isinstance(values, dict):
        raise InputError(f"[{where}] must be a table, got {values!r}")
    unknown = sorted(set(values) - set(spec))
    if unknown:
        raise InputError(f"[{where}] unknown key {unknown[0]!r}; allowed keys: "
                         + ", ".join(sorted(spec)))
    out = {}
    for key, opt in spec.items():
        if key in values:
            out[key] = opt.convert(f"{where}.{key}", values[key])
        elif opt.default is REQUIRED:
            raise InputError(f"[{where}] missing required key {key!r} ({opt.help})")
        else:
            out[key] = opt.default
    return out


def default_of(func, name: str):
    """The default of parameter ``name`` of ``func``: an engine option that a public
    function also takes declares this as its default, so the value is written once.

    Raises TypeError if the function has no keyword ``name`` with a default.
    """
    import inspect
    default = inspect.signature(func).parameters[name].default
    if default is inspect.Parameter.empty:
        raise TypeError(f"{func.__qualname__} has no default for {name!r}")
    return list(default) if isinstance(default, tuple) else default


def defaults(spec: dict[str, Option]) -> dict:
    """{name: default} of an option table (an engine's OPTIONS); REQUIRED ones left out."""
    return {k: o.default for k, o in spec.items() if o.default is not REQUIRED}


def generator(seed=None, rng=None):
    """The random generator of a public function taking ``seed`` or ``rng``: ``rng``
    itself when given, else ``numpy.random.default_rng(seed)``.

    Raises TypeError or ValueError naming the argument: ``rng`` not a
    numpy.random.Generator, ``seed`` not None or an integer in 0 .. 2**63 - 1.
    """
    import numpy as np
    if rng is not None:
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
        return rng
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
        raise TypeError(f"seed must be an integer or None, got {seed!r}")
    if seed is not None and not 0 <= seed <= INT64_MAX:
        raise ValueError(f"seed must lie in 0 .. 2**63 - 1, got {seed!r}")
    return np.random.default_rng(seed)
