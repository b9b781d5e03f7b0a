"""Tests for funnelkit.stats._dist: scipy.special's distribution functions give
scipy.stats' answers, edges included, without loading scipy.stats."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from scipy import stats as sps

from funnelkit.stats import _dist

X = np.array([-np.inf, -40, -5, -1.5, -0.0, 0.0, 1e-9, 0.3, 1, 2.5, 7, 40, np.inf, np.nan])
Q = np.array([-0.1, 0.0, 1e-12, 0.001, 0.025, 0.3, 0.5, 0.7, 0.975, 1 - 1e-12, 1.0, 1.1, np.nan])
DF = np.array([-1, 0, 0.5, 1, 2, 3.7, 10, 1e3, 1e8, np.inf, np.nan])
AB = np.array([-1, 0, 1e-3, 0.5, 1, 2.5, 30, 1e4, np.nan])


def same(a, b):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))  # NaN == NaN here


@pytest.mark.parametrize("name", ["cdf", "sf"])
def test_norm_cdf_sf(name):
    same(getattr(_dist, f"norm_{name}")(X), getattr(sps.norm, name)(X))


@pytest.mark.parametrize("name", ["ppf", "isf"])
def test_norm_quantiles(name):
    same(getattr(_dist, f"norm_{name}")(Q), getattr(sps.norm, name)(Q))


@pytest.mark.parametrize("name", ["cdf", "sf"])
def test_t_cdf_sf(name):
    x, d = np.meshgrid(X, DF)
    same(getattr(_dist, f"t_{name}")(x, d), getattr(sps.t, name)(x, d))


def test_t_ppf():
    q, d = np.meshgrid(Q, DF)
    same(_dist.t_ppf(q, d), sps.t.ppf(q, d))


def test_chi2_sf():
    x, d = np.meshgrid(X, DF)
    same(_dist.chi2_sf(x, d), sps.chi2.sf(x, d))


@pytest.mark.parametrize("name", ["ppf", "isf"])
def test_beta_quantiles(name):
    q, a, b = np.meshgrid(Q, AB, AB)
    same(getattr(_dist, f"beta_{name}")(q, a, b), getattr(sps.beta, name)(q, a, b))


def test_scalars_give_numpy_scalars():
    for got, want in [(_dist.t_sf(1.0, 3), sps.t.sf(1.0, 3)), (_dist.norm_isf(0.05), sps.norm.isf(0.05)),
                      (_dist.chi2_sf(3.2, 1), sps.chi2.sf(3.2, 1)), (_dist.beta_ppf(0.025, 3, 7),
                                                                     sps.beta.ppf(0.025, 3, 7))]:
        assert type(got) is type(want) and got == want


def test_the_experiment_does_not_load_scipy_stats():
    code = ("import sys, funnelkit as fk; ev = fk.datasets.load_shop(); "
            "exp = fk.experiment(ev, fk.datasets.shop_journey(), variant_col='variant', control='A'); "
            "assert len(exp.timing) and exp.srm.p_value >= 0; "
            "print(sorted(m for m in sys.modules if m.startswith('scipy.stats')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
