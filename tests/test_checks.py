"""Verdict logic of the validation rows (analysis.checks.Row, issue 18) on constructed
rows: each kind of claim is judged by its own rule, errors combine in quadrature and a
zero systematic error says why."""

import numpy as np
import pytest

from simglass.analysis.checks import ESTIMATE_FACTOR, KINDS, N_SIGMA, Row


def _row(kind, value, theory=1.0, stat=0.1, sys=0.0, source="test"):
    r = Row("k", "q", "Eq. 0", theory, kind=kind, value=value)
    return r.set_errors(stat, sys, source).judge()


@pytest.mark.parametrize("kind", ["identity", "prediction"])
def test_identity_and_prediction_are_judged_in_combined_errors(kind):
    assert _row(kind, 1.0 + 0.99 * N_SIGMA * 0.1).verdict == "agrees"
    assert _row(kind, 1.0 - 1.01 * N_SIGMA * 0.1).verdict == "differs"
    # the systematic part widens the combined error: 0.5 off, stat 0.1, sys 0.2 -> 2.2 σ
    r = _row(kind, 1.5, stat=0.1, sys=0.2)
    assert r.error == pytest.approx(np.hypot(0.1, 0.2))
    assert r.deviation == pytest.approx(0.5 / np.hypot(0.1, 0.2))
    assert r.verdict == "agrees"


def test_prediction_of_an_asymptote_that_drifts_is_not_settled():
    r = Row("k", "q", "Eq. 0", 1.0, value=1.01)
    r.settled = False
    assert r.set_errors(0.1, 0.0, "x").judge().verdict == "not settled"
    assert r.deviation == pytest.approx(0.1)


def test_estimate_is_judged_by_a_factor_not_by_sigmas():
    # 40 standard errors away but within the factor: agrees
    r = _row("estimate", 1.4, stat=0.01)
    assert abs(r.deviation) > 10 and r.verdict == "agrees"
    assert _row("estimate", 0.99 / ESTIMATE_FACTOR).verdict == "differs"
    assert _row("estimate", 1.01 * ESTIMATE_FACTOR).verdict == "differs"
    assert _row("estimate", 1.0 / (0.99 * ESTIMATE_FACTOR)).verdict == "agrees"
    assert "factor" in r.note


def test_bound_is_one_sided():
    assert _row("bound", 100.0).verdict == "agrees"
    assert _row("bound", 1.0 - 0.99 * N_SIGMA * 0.1).verdict == "agrees"
    assert _row("bound", 1.0 - 1.01 * N_SIGMA * 0.1).verdict == "differs"


def test_indicator_has_no_verdict_and_no_deviation():
    r = _row("indicator", 5.0)
    assert r.verdict == "indicator" and r.deviation is None


def test_missing_error_and_missing_crossing():
    r = Row("k", "q", "Eq. 0", 1.0, value=1.0).judge()
    assert r.verdict == "no error bar"
    r = Row("k", "q", "Eq. 0", 1.0, value=float("nan")).judge()
    assert r.verdict == "no crossing" and r.value is None
    assert Row("k", "q", "Eq. 0", 1.0).judge().verdict == "not run"


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="kind"):
        Row("k", "q", "Eq. 0", 1.0, kind="guess")
    assert set(KINDS) == {"identity", "prediction", "estimate", "bound", "indicator"}


def test_summary_fields():
    d = _row("prediction", 1.1, stat=0.1, sys=0.05, source="fit window").as_dict()
    for k in ("kind", "error_stat", "error_sys", "error", "sys_source"):
        assert k in d
    assert d["error"] == pytest.approx(np.hypot(0.1, 0.05))
