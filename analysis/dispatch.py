"""``simglass analyze``: the analyses of each engine, applied to a results file (also a
partial one of a running or killed job)."""

from __future__ import annotations

from pathlib import Path

from simglass.results import read_results


def analyze(path, out=None) -> int:
    """Run every analysis that fits the file's engine; returns an exit code."""
    f, job = read_results(path)
    f.close()
    out = Path(out) if out else None
    args = [str(path)] + (["--out", str(out)] if out else [])
    if job.engine == "disorder":
        from . import disorder_check
        return disorder_check.main([str(path)])
    if job.engine == "mc":
        from . import coulomb_gap, sk_energy
        code = coulomb_gap.main(args)
        compensated = job.model.get("compensate") or any(job.scan.get("compensate", []))
        return max(code, sk_energy.main(args)) if compensated else code
    if job.engine == "hartree":
        from . import localization
        x = "W" if "W" in job.scan else "J"
        return localization.main(args + ["--x", x])
    if job.engine == "ed":
        from . import ed_hartree
        return ed_hartree.main(args)
    if job.engine == "saddle":
        from . import phase_boundary
        return phase_boundary.main(args)
    if job.engine == "stiffness":
        from . import stiffness
        return stiffness.main(args)
    print(f"no analysis for engine {job.engine!r} yet")
    return 0
