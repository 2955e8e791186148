"""Problem data: structural errors name the request or vehicle and the field; unservable requests get reasons."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from darp_instances import line_problem
from routing.problem import DEFAULT_MAX_RIDE_FACTOR, DEFAULT_MAX_RIDE_SLACK_S, ProblemData, unservable_reasons


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r: replace(r, latest_pickup_s=-5.0), r"latest_pickup_s .* \(inverted window\)"),
        (lambda r: replace(r, earliest_dropoff_s=900.0, latest_dropoff_s=800.0), r"latest_dropoff_s .* \(inverted window\)"),
        (lambda r: replace(r, latest_dropoff_s=0.0), r"latest_dropoff_s .* \(drop-off before pickup\)"),
        (lambda r: replace(r, dropoff=99), "dropoff index 99 outside the matrix"),
        (lambda r: replace(r, pickup=-1), "pickup index -1 outside the matrix"),
        (lambda r: replace(r, operator="GHOST"), "unknown operator 'GHOST'"),
        (lambda r: replace(r, companions=-1), "companions -1 is negative"),
        (lambda r: replace(r, service_pickup_s=float("nan")), "service_pickup_s nan"),
        (lambda r: replace(r, earliest_pickup_s=float("inf")), "pickup window must be finite"),
        (lambda r: replace(r, max_ride_s=-1.0), "max_ride_s -1.0"),
    ],
)
def test_broken_requests_are_errors_naming_the_request_and_field(change, message: str) -> None:
    data = line_problem(2)
    with pytest.raises(ValueError, match=f"request 'r0': {message}"):
        replace(data, requests=(change(data.requests[0]), data.requests[1]))


def test_duplicate_request_id_is_an_error() -> None:
    data = line_problem(2)
    with pytest.raises(ValueError, match="request 'r0': duplicate id"):
        replace(data, requests=(data.requests[0], data.requests[0]))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda v: replace(v, depot=50), "depot index 50 outside the matrix"),
        (lambda v: replace(v, shift_end_s=-1.0), "shift_end_s -1.0 is not after shift_start_s"),
        (lambda v: replace(v, operator="GHOST"), "unknown operator 'GHOST'"),
        (lambda v: replace(v, seats=-1), "negative capacity"),
    ],
)
def test_broken_vehicles_are_errors_naming_the_vehicle(change, message: str) -> None:
    data = line_problem(2)
    with pytest.raises(ValueError, match=f"vehicle 'v0': {message}"):
        replace(data, vehicles=(change(data.vehicles[0]),), operators=frozenset({"OP"}))


@pytest.mark.parametrize("bad", [-1.0, np.nan])
def test_negative_or_nan_matrix_entries_are_errors(bad: float) -> None:
    data = line_problem(2)
    matrix = data.duration_s.copy()
    matrix[1, 2] = bad
    with pytest.raises(ValueError, match="duration_s has negative or NaN entries"):
        replace(data, duration_s=matrix)


def test_matrices_are_read_only_copies() -> None:
    data = line_problem(2)
    source = np.array(data.distance_m)
    copy = replace(data, distance_m=source)
    source[0, 1] = 123.0
    assert copy.distance_m[0, 1] != 123.0
    with pytest.raises(ValueError):
        copy.distance_m[0, 1] = 1.0


def test_default_maximum_ride_is_factor_times_direct_plus_slack() -> None:
    data = line_problem(1)
    request = replace(data.requests[0], max_ride_s=None)
    direct = data.direct_s(request)
    assert data.max_ride(request) == pytest.approx(DEFAULT_MAX_RIDE_FACTOR * direct + DEFAULT_MAX_RIDE_SLACK_S)
    assert replace(data, max_ride_factor=2.0, max_ride_slack_s=0.0).max_ride(request) == pytest.approx(2 * direct)


def test_unservable_requests_get_reasons_instead_of_errors() -> None:
    data = line_problem(6, 1)
    r = data.requests
    crowd = replace(r[0], id="crowd", companions=5)
    late = replace(r[1], id="late", earliest_pickup_s=0.0, latest_pickup_s=100.0)
    rushed = replace(r[2], id="rushed", earliest_pickup_s=0.0, latest_dropoff_s=1.0)
    long = replace(r[3], id="long", max_ride_s=0.5 * data.direct_s(r[3]))
    night = replace(r[4], id="night", earliest_pickup_s=7100.0, latest_pickup_s=7150.0)
    data = ProblemData(data.vehicles, (crowd, late, rushed, long, night, r[5]), data.duration_s, data.distance_m)
    reasons = unservable_reasons(data, now_s=500.0)
    assert "more than any vehicle holds" in reasons["crowd"]
    assert "in the past" in reasons["late"]
    assert "misses the latest drop-off" in reasons["rushed"]
    assert "longer than the maximum ride time" in reasons["long"]
    assert "no vehicle shift covers the trip" in reasons["night"]
    assert r[5].id not in reasons
