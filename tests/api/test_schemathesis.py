"""Schemathesis over the OpenAPI schema of the running server: no generated input makes it answer 5xx.

Both generation modes run: positive (valid bodies, query parameters and
headers such as ``Idempotency-Key``) and negative (each of them broken:
huge integers, wrong types, empty or non-ASCII headers).
"""

from __future__ import annotations

from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from api.db import make_engine, migrate, session_factory
from api.storage import create_key
from server_process import Server

EXAMPLES_PER_OPERATION = 20


def test_no_generated_input_makes_a_server_error(dataset_dir: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fuzz.db'}"
    engine = make_engine(url)
    migrate(engine)
    with session_factory(engine)() as session:
        _, key = create_key(session, "admin", None, "fuzz", set())
    engine.dispose()
    server = Server(dataset_dir, url)
    try:
        schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) >= 10
        failures: list[str] = []
        negative = 0
        for operation, mode in [(o, m) for o in operations for m in GenerationMode]:

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, suppress_health_check=list(HealthCheck), database=None)
            def exercise(case) -> None:  # noqa: ANN001 - schemathesis case
                response = case.call(headers={"Authorization": f"Bearer {key}"})
                if response.status_code >= 500:
                    failures.append(f"{mode.value}: {case.method} {case.formatted_path} query={case.query} headers={case.headers} "
                                    f"-> {response.status_code}: {response.text[:200]}")

            try:
                exercise()
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE, operation.label  # nothing to break: no parameters, no body
                continue
            negative += mode is GenerationMode.NEGATIVE
        assert negative >= 10  # operations with parameters, headers or a body to break
        assert not failures, failures[:5]
    finally:
        server.stop()
