"""The compiled pieces of the exact scheduler and of the insertion's vehicle screen against plain references."""

from __future__ import annotations

import numpy as np
import pytest

from routing.insertion import FleetArrays
from routing.problem import ProblemData, TripRequest, Vehicle, fits
from routing.schedule import TOLERANCE_S, _shortest_paths


def _vectorised_floyd_warshall(weight: np.ndarray) -> bool:
    """The numpy Floyd-Warshall the compiled one replaced (in place); False on a negative cycle."""
    for k in range(len(weight)):
        np.minimum(weight, weight[:, k : k + 1] + weight[k : k + 1, :], out=weight)
    return not (np.diag(weight) < -TOLERANCE_S).any()


@pytest.mark.parametrize("seed", range(4))
def test_compiled_shortest_paths_equal_the_vectorised_ones_bit_for_bit(seed: int) -> None:
    rng = np.random.default_rng(seed)
    verdicts = set()
    for _ in range(300):
        n = int(rng.integers(2, 30))
        weight = np.where(rng.random((n, n)) < 0.4, rng.normal(60.0, 120.0, (n, n)), np.inf)
        np.fill_diagonal(weight, 0.0)
        expected, got = weight.copy(), weight.copy()
        feasible = _vectorised_floyd_warshall(expected)
        assert _shortest_paths(got, TOLERANCE_S) == feasible
        if feasible:
            assert np.array_equal(got, expected)
        verdicts.add(feasible)
    assert verdicts == {True, False}  # both outcomes were exercised


def test_fleet_screen_keeps_exactly_the_vehicles_that_fit_and_reach() -> None:
    rng = np.random.default_rng(7)
    n = 12
    duration = rng.uniform(60.0, 1800.0, (n, n))
    np.fill_diagonal(duration, 0.0)
    vehicles = tuple(Vehicle(f"v{i}", ("A", "B")[i % 2], int(rng.integers(0, 3)), float(rng.uniform(0, 20_000)),
                             float(rng.uniform(25_000, 60_000)), int(rng.integers(0, 3)), int(rng.integers(1, 5)))
                     for i in range(40))
    fleet = FleetArrays.of(vehicles)
    kept = 0
    for k in range(200):
        early = float(rng.uniform(0, 50_000))
        request = TripRequest(f"r{k}", int(rng.integers(3, n)), int(rng.integers(3, n)), early,
                              early + float(rng.uniform(0, 3600)), wheelchair=bool(k % 2),
                              companions=int(rng.integers(0, 3)), operator=(None, "A", "B")[k % 3])
        data = ProblemData(vehicles, (request,), duration, duration * 10)
        now_s = None if k % 4 else float(rng.uniform(0, 50_000))
        expected = [i for i, v in enumerate(vehicles) if fits(v, request) and (now_s is None or v.shift_end_s > now_s)
                    and _reaches(data, v, request)]
        assert fleet.able(duration, request, now_s).tolist() == expected
        kept += len(expected)
    assert 0 < kept < 200 * len(vehicles)


def _reaches(data: ProblemData, vehicle: Vehicle, request: TripRequest) -> bool:
    """From the depot at the shift start: the pickup in its window, and home after the drop-off before the shift ends."""
    duration = data.duration_s
    pick = max(vehicle.shift_start_s + duration[vehicle.depot, request.pickup], request.earliest_pickup_s)
    home = pick + request.service_pickup_s + duration[request.pickup, request.dropoff] + request.service_dropoff_s \
        + duration[request.dropoff, vehicle.depot]
    return pick <= request.latest_pickup_s and home <= vehicle.shift_end_s
