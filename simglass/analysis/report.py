"""Writing the validation report: ``report.md``, a self-contained ``report.html``
(figures embedded as base64 PNG) and ``summary.json`` (the rows as numbers)."""

from __future__ import annotations

import base64
import datetime
import html
import json
import math
from pathlib import Path

from simglass import __version__
from .files import write_text

HEAD = ["quantity", "equation", "kind", "theory", "simulation ± error (stat, sys)", "deviation [σ]", "sizes",
        "realisations", "verdict", "note", "systematic error"]
COLOURS = {"agrees": "#d9f2d9", "differs": "#f8d7d7", "not run": "#eeeeee", "indicator": "#e8eef8",
           "not settled": "#fff3cd"}
THEORY_PREFIX = {"estimate": "≈ ", "bound": "≥ ", "indicator": "(context) "}


def _fmt(x, err=None):
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "—"
    if err is None or not math.isfinite(err) or err <= 0:
        return f"{x:.6g}"
    digits = max(0, -int(math.floor(math.log10(err))) + 1)
    return f"{x:.{digits}f} ± {err:.{digits}f}"


def cells(r) -> list[str]:
    theory = "—" if r.theory is None else THEORY_PREFIX.get(r.kind, "") + f"{r.theory:.6g}"
    dev = "—" if r.deviation is None else f"{r.deviation:+.1f}"
    sim = _fmt(r.value, r.error)
    if r.value is not None and r.error_stat is not None and r.error_sys is not None:
        sim += f" ({r.error_stat:.2g}, {r.error_sys:.2g})"
    return [r.quantity, r.equation, r.kind, theory, sim, dev, r.sizes, r.realizations, r.verdict, r.note,
            r.sys_source]


def _git_commit() -> str:
    import subprocess
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                              cwd=Path(__file__).parent, timeout=10).stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def write_report(out: Path, rows, figures, meta: dict):
    out = Path(out)
    meta = dict(meta, simglass_version=__version__, git_commit=_git_commit(),
                created=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"))
    summary = {"meta": meta, "rows": [r.as_dict() for r in rows],
               "figures": [f for f, _ in figures]}
    write_text(out / "summary.json", json.dumps(summary, indent=1, ensure_ascii=False))
    _markdown(out, rows, figures, meta)
    _html(out, rows, figures, meta)


def _intro(meta) -> list[str]:
    runs = ", ".join(f"{k}: {v['done'] + v['skipped']}/{v['tasks']} tasks, {v['wall_time_s']:.0f} s"
                     for k, v in meta["runs"].items())
    jobs = sum(v["wall_time_s"] for v in meta["runs"].values())
    return [f"simglass {meta['simglass_version']} (commit {meta['git_commit'][:12]}), profile "
            f"{meta['profile']}, {meta['created']}; measured wall time {meta['wall_time_s']:.0f} s "
            f"({jobs:.0f} s in the jobs, numba compilation included; the rest analysis and report) on "
            f"{meta.get('cores', '?')} cores.",
            f"Jobs: {runs or 'none'}.",
            "Model, signs and units: docs/conventions.md (energies in units of t = 1, J, W as in "
            "docs/conventions.md). Each row is judged by the kind of claim it tests: identity and prediction "
            "agree within 3 combined errors (a prediction of an asymptote whose local estimates still "
            "drift is 'not settled'); estimate (≈, ≳) agrees within a factor 2; bound: above it minus "
            "3 errors; indicator: shown for context, no verdict. Deviation = (simulation − theory)/error. "
            "Error = statistical (standard errors over realisations, bootstrap for fits and crossings) "
            "and systematic (the last column names its source) in quadrature."]


def _sections(rows):
    """[(heading, rows)]: the paper's rows (heading "") first, then each other section
    in the order of its first row."""
    order = [""] + [r.section for r in rows if r.section]
    return [(sec, [r for r in rows if r.section == sec]) for sec in dict.fromkeys(order)
            if any(r.section == sec for r in rows)]


def _markdown(out, rows, figures, meta):
    lines = ["# simglass validation report", ""] + [x + "  " for x in _intro(meta)] + [""]
    for section, part in _sections(rows):
        if section:
            lines += [f"## {section}", ""]
        lines.append("| " + " | ".join(HEAD) + " |")
        lines.append("|" + "---|" * len(HEAD))
        for r in part:
            lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells(r)) + " |")
        lines.append("")
    for path, cap in figures:
        lines += [f"![{cap}]({path})", "", f"*{cap}*", ""]
    write_text(out / "report.md", "\n".join(lines))


def _html(out, rows, figures, meta):
    esc = html.escape
    h = ["<!DOCTYPE html><html><head><meta charset='utf-8'><title>simglass validation report</title>",
         "<style>body{font-family:sans-serif;max-width:1200px;margin:2em auto;color:#222}"
         "table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #999;padding:3px 6px;"
         "vertical-align:top}th{background:#ddd}figure{margin:1.5em 0}img{max-width:100%}"
         "figcaption{font-style:italic}</style></head><body>",
         "<h1>simglass validation report</h1>"]
    h += [f"<p>{esc(x)}</p>" for x in _intro(meta)]
    for section, part in _sections(rows):
        if section:
            h.append(f"<h2>{esc(section)}</h2>")
        h.append("<table><tr>" + "".join(f"<th>{esc(c)}</th>" for c in HEAD) + "</tr>")
        for r in part:
            bg = COLOURS.get(r.verdict, "#fff3cd")
            h.append(f"<tr style='background:{bg}'>" + "".join(f"<td>{esc(c)}</td>" for c in cells(r)) + "</tr>")
        h.append("</table>")
    for path, cap in figures:
        data = base64.b64encode((out / path).read_bytes()).decode()
        h.append(f"<figure><img alt='{esc(cap)}' src='data:image/png;base64,{data}'>"
                 f"<figcaption>{esc(cap)} ({esc(path)})</figcaption></figure>")
    h.append("</body></html>")
    write_text(out / "report.html", "\n".join(h))
