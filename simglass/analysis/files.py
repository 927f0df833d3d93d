"""Writing the analyses' outputs (tables, figures, reports) so that a failed write
leaves no damaged file.

Each file is written under a temporary name in its directory and renamed over the
target only when complete (``os.replace``, atomic on POSIX): a disk that fills up, a
quota, an I/O error or a file-size limit leaves the previous file (or none), never a
truncated one.  The failure raises simglass.results.WriteFailed naming the file and the
operating system's reason; ``simglass analyze`` / ``validate`` and every
``python -m simglass.analysis.…`` command (``run_command``) print it as one line and exit with
status 1.
"""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from pathlib import Path

from simglass.results import WriteFailed, write_error_cause

__all__ = ["written", "write_text", "save_figure", "run_command"]


@contextmanager
def written(path, mode="w", **kwargs):
    """``open(path, mode, **kwargs)`` for writing, made atomic (module docstring).

    Raises WriteFailed when the file cannot be written or renamed; an exception from the
    body propagates unchanged, and in both cases the temporary file is removed and
    ``path`` is untouched."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        try:
            with open(tmp, mode, **kwargs) as fh:
                yield fh
            os.replace(tmp, path)
        except OSError as e:
            raise WriteFailed(f"cannot write {path}: {write_error_cause(e)}") from e
    finally:
        if tmp.exists():
            try:
                tmp.unlink()
            except OSError:
                pass


def write_text(path, text: str):
    """Path.write_text, atomic (``written``)."""
    with written(path, "w", encoding="utf-8") as fh:
        fh.write(text)


def save_figure(fig, path, dpi=120):
    """fig.savefig(path) through ``written``; the format is the file's suffix."""
    path = Path(path)
    with written(path, "wb") as fh:
        fig.savefig(fh, dpi=dpi, format=path.suffix.lstrip(".") or "png")


def run_command(main, *args) -> int:
    """``main(*args)``, with a failed output write turned into one line on stderr and
    exit status 1 (for ``if __name__ == "__main__"`` of the analysis commands)."""
    try:
        return main(*args)
    except WriteFailed as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
