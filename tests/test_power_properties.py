"""Invariants of trial.power (hypothesis): round trips and monotonicity.

Tolerances: power -> MDE -> power is solved by Brent's method to 1e-12 in the
share, so the power at the MDE equals the target to 1e-8. MDE -> power -> MDE
compares shares to 1e-7. For exact tests the MDE is defined as the smallest
effect at which power reaches the target and stays there on a 0.0005 grid
(power in p_treatment at fixed n is a smooth polynomial, so within one grid
cell Brent's root is the crossing); the saw-tooth of exact power is in n, and
monotonicity in n is therefore only asserted for the normal approximations (and
not for the pooled one, see below).
"""
from __future__ import annotations

import math

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from trial.power import exact_size, power_two_means, power_two_proportions

shares = st.floats(min_value=0.03, max_value=0.6)
analytic = st.sampled_from(["normal_unpooled", "normal_pooled", "normal_pooled_cc", "arcsine"])
# Power of the pooled-variance z test can *fall* when controls are added (its null SE uses the pooled
# share; with a small, more variable deltagergruppe the test is anti-conservative at 1:1 and loses that
# as n_c grows): found by hypothesis (p 0.125 -> 0.1875, 20 vs 20 -> 70). Monotonicity in n is asserted
# for the unpooled and arcsine approximations only.
monotone_in_n = st.sampled_from(["normal_unpooled", "arcsine"])
exact = st.sampled_from(["exact_hc2", "fisher", "exact_pooled_z"])
target = st.floats(min_value=0.5, max_value=0.9)


@settings(max_examples=40, deadline=None)
@given(p0=shares, n1=st.integers(20, 150), n0=st.integers(20, 600), pw=target, method=analytic,
       direction=st.sampled_from(["increase", "decrease"]))
def test_power_mde_power_round_trip(p0, n1, n0, pw, method, direction):
    r = power_two_proportions(p_control=p0, n_control=n0, n_treatment=n1, power=pw, method=method, direction=direction)
    assume(math.isfinite(r.p_treatment))
    back = power_two_proportions(p_control=p0, p_treatment=r.p_treatment, n_control=n0, n_treatment=n1, method=method)
    assert abs(back.power - pw) < 1e-8
    again = power_two_proportions(p_control=p0, n_control=n0, n_treatment=n1, power=back.power, method=method,
                                  direction=direction)
    assert abs(again.p_treatment - r.p_treatment) < 1e-7


@settings(max_examples=15, deadline=None)
@given(p0=shares, n1=st.integers(20, 100), n0=st.integers(20, 300), pw=target, method=exact)
def test_exact_mde_round_trip(p0, n1, n0, pw, method):
    r = power_two_proportions(p_control=p0, n_control=n0, n_treatment=n1, power=pw, method=method)
    assume(math.isfinite(r.p_treatment))
    back = power_two_proportions(p_control=p0, p_treatment=r.p_treatment, n_control=n0, n_treatment=n1, method=method)
    assert abs(back.power - pw) < 1e-8
    # and the power stays at or above the target for larger effects (the MDE's definition)
    for step in (0.001, 0.01, 0.05):
        if r.p_treatment + step < 1:
            assert power_two_proportions(p_control=p0, p_treatment=r.p_treatment + step, n_control=n0,
                                         n_treatment=n1, method=method).power >= pw - 1e-12


@settings(max_examples=40, deadline=None)
@given(p0=shares, d=st.floats(0.01, 0.3), n1=st.integers(20, 150), n0=st.integers(20, 600), method=monotone_in_n)
def test_power_rises_with_n_and_effect(p0, d, n1, n0, method):
    assume(p0 + d + 0.02 < 1)
    base = power_two_proportions(p_control=p0, p_treatment=p0 + d, n_control=n0, n_treatment=n1, method=method).power
    more_c = power_two_proportions(p_control=p0, p_treatment=p0 + d, n_control=n0 + 50, n_treatment=n1,
                                   method=method).power
    more_t = power_two_proportions(p_control=p0, p_treatment=p0 + d, n_control=n0, n_treatment=n1 + 50,
                                   method=method).power
    bigger = power_two_proportions(p_control=p0, p_treatment=p0 + d + 0.02, n_control=n0, n_treatment=n1,
                                   method=method).power
    assert more_c >= base - 1e-12 and more_t >= base - 1e-12 and bigger >= base - 1e-12


@settings(max_examples=25, deadline=None)
@given(p0=shares, d=st.floats(0.02, 0.3), n1=st.integers(20, 100), n0=st.integers(20, 300))
def test_exact_power_rises_with_effect(p0, d, n1, n0):
    assume(p0 + d + 0.02 < 1)
    a = power_two_proportions(p_control=p0, p_treatment=p0 + d, n_control=n0, n_treatment=n1).power
    # The two-sided HC2 test with unequal groups is not unbiased: right next to the null its power can dip
    # (found by hypothesis: 0.0606 -> 0.0604 for 0.125 vs 0.156 -> 0.177, 20 vs 60). Asserted from power 0.2 on,
    # and only where the test holds its size: with rare outcomes and a small arm the HC2 test is liberal and
    # its "power" is partly wrong-sign rejections (an arm with no events has no variance), which fall as the
    # effect grows (found by hypothesis: 0.200 -> 0.146 for 0.031 vs 0.0625 -> 0.0825, 20 vs 152, where the
    # exact size is 0.37; docs/power.md, "What this means for the protocol").
    assume(a >= 0.2)
    assume(exact_size("exact_hc2", p0, n0, n1) <= 0.06)
    b = power_two_proportions(p_control=p0, p_treatment=p0 + d + 0.02, n_control=n0, n_treatment=n1).power
    assert b >= a - 1e-12


@settings(max_examples=30, deadline=None)
@given(d=st.floats(0.05, 1.0), n1=st.integers(10, 200), n0=st.integers(10, 600), pw=target)
def test_means_round_trip_and_monotone(d, n1, n0, pw):
    r = power_two_means(sd=1.0, n_control=n0, n_treatment=n1, power=pw)
    assert abs(power_two_means(sd=1.0, mean_treatment=r.treatment_value, n_control=n0, n_treatment=n1).power - pw) < 1e-8
    a = power_two_means(sd=1.0, mean_treatment=d, n_control=n0, n_treatment=n1).power
    assert power_two_means(sd=1.0, mean_treatment=d, n_control=n0 + 30, n_treatment=n1).power >= a - 1e-12
