from __future__ import annotations

import numpy as np
import pytest

from ils.analytics.forecast.metrics import accuracy


def test_accuracy_on_known_numbers() -> None:
    actual = np.array([10.0, 20.0, 30.0, 40.0])
    forecast = np.array([12.0, 18.0, 30.0, 44.0])
    m = accuracy(0, actual, forecast, np.full(4, 2.0), (actual - 1, actual + 1), None)
    assert m.mase == pytest.approx((2 + 2 + 0 + 4) / 4 / 2)
    assert m.wape == pytest.approx(8 / 100)
    assert m.bias == pytest.approx(4 / 4)
    assert m.bias_pct == pytest.approx(4 / 100)
    assert m.coverage_80 == 1.0
    assert m.coverage_95 is None


def test_undefined_figures_are_none_not_nan() -> None:
    zeros = np.zeros(5)
    m = accuracy(1, zeros, zeros, np.zeros(5))
    assert m.mase is None and m.wape is None and m.bias_pct is None
    assert m.smape == 0.0 and m.bias == 0.0
