"""What an engine stores per task: the declaration ``OUTPUTS`` of each engine module
(dataset name -> :class:`Output`), next to its ``OPTIONS``.

These declarations are the one description of the stored records: the engines page of
the documentation, ``simglass engines NAME`` and :func:`simglass.analysis.load.task_table`'s
column descriptions (:func:`simglass.analysis.load.columns`) are built from them, and
tests/test_docs.py runs every engine on a tiny job and fails if it stores a dataset
that its ``OUTPUTS`` does not declare (or declares one it does not store).

How a record is stored (simglass.results): every entry is a column of the results file,
created from these declarations when the file is made (simglass.column_layout: scalars
as 1-D columns, arrays and strings as ragged data with per-task shapes); an entry an
engine does not declare fails its task.  Files of the earlier group layout hold every
entry as a dataset of the task's group, strings as attributes of the group.  ``task_table`` makes a
column of every scalar number or boolean (``Output.column``); arrays are read with
``simglass.analysis.load.load_points``.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Output", "KINDS", "COMMON_OUTPUTS"]

KINDS = ("float", "int", "bool", "str")


@dataclass(frozen=True)
class Output:
    """One entry of an engine's per-task record.

    Attributes
    ----------
    shape : str
        "()" for a scalar, else the axes in the job's terms, e.g. "(N,)" (one value per
        site), "(restarts,)", "(phi_bins + 1,)" (an option's value), "(K,)" (a count
        that ``meaning`` defines).
    unit : str
        "energy" (the job's energy unit, shared by t, J and W), "t" (the saddle point's
        values divided by t), "1" (dimensionless), "count", or "" (flags, strings).
    meaning : str
        What it is, with its definition or the function that computes it.
    kind : str
        One of KINDS, the stored type (float64, int64, numpy booleans, or a string stored
        as UTF-8 bytes).
    when : str
        The options under which it is stored ("": always).

    Raises ValueError for a kind outside KINDS or a shape not written "(...)".
    """
    shape: str
    unit: str
    meaning: str
    kind: str = "float"
    when: str = ""

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"Output.kind = {self.kind!r}: allowed: {', '.join(KINDS)}")
        if not (self.shape.startswith("(") and self.shape.endswith(")")):
            raise ValueError(f"Output.shape = {self.shape!r}: must be '()' or '(axis, ...)'")

    @property
    def ndim(self) -> int:
        """Number of array axes (0 for a scalar)."""
        inner = self.shape[1:-1].strip().rstrip(",")
        depth, axes = 0, 1
        for ch in inner:                  # commas outside parentheses: "(min(modes, N),)" has one axis
            depth += (ch == "(") - (ch == ")")
            axes += ch == "," and depth == 0
        return axes if inner else 0

    @property
    def column(self) -> bool:
        """True if :func:`simglass.analysis.load.task_table` makes a column of it (a scalar number
        or boolean)."""
        return self.ndim == 0 and self.kind != "str"


# added to the record of every engine with a lattice (simglass.tasks.run_task)
COMMON_OUTPUTS = {
    "n_particles": Output("()", "count", "N_f, the number of fermions of this task "
                          "(from `density` or `n_particles`; simglass.particle_number)", "int"),
}
