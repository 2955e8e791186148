"""Schemathesis over the OpenAPI schema of the running server: no generated input makes it answer 5xx.

Both generation modes run: positive (valid bodies, query parameters and
headers such as ``Idempotency-Key``) and negative (each of them broken:
huge integers, wrong types, empty or non-ASCII headers). The test checks
that every query parameter and header the schema declares was really sent
in both modes, and fuzzes the ``Authorization`` header itself separately.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from api.db import make_engine, migrate, session_factory
from api.storage import create_key
from server_process import Server

EXAMPLES_PER_OPERATION = 20
STREAMS = ("/v1/events/stream",)  # answer for 30 s each (server-sent events): their bad input is tested on its own


def _declared_parameters(openapi: dict) -> set[tuple[str, str, str, str]]:
    """(method, path, "query" or "header", name) of every query and header parameter in the schema."""
    return {(method, path, parameter["in"], parameter["name"])
            for path, operations in openapi["paths"].items() for method, operation in operations.items()
            for parameter in operation.get("parameters", []) if parameter["in"] in ("query", "header")}


def test_no_generated_input_makes_a_server_error(dataset_dir: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fuzz.db'}"
    engine = make_engine(url)
    migrate(engine)
    with session_factory(engine)() as session:
        _, key = create_key(session, "admin", None, "fuzz", set())
    engine.dispose()
    server = Server(dataset_dir, url, {"INVAPLAN_AUTH_FAILURES_PER_MINUTE": "1000000"})  # the fuzzed keys all fail
    try:
        schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
        operations = [o for o in (result.ok() for result in schema.get_all_operations()) if o.path not in STREAMS]
        assert len(operations) >= 10
        failures: list[str] = []
        negative = 0
        sent: set[tuple[GenerationMode, str, str, str, str]] = set()
        for operation, mode in [(o, m) for o in operations for m in GenerationMode]:

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, suppress_health_check=list(HealthCheck), database=None,
                      derandomize=True)  # the same cases every run: the coverage asserted below cannot flake
            def exercise(case) -> None:  # noqa: ANN001 - schemathesis case
                for location, values in (("query", case.query), ("header", case.headers)):
                    sent.update((mode, case.method.lower(), case.path, location, name) for name in values or {})
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
        declared = {p for p in _declared_parameters(httpx.get(f"{server.url}/openapi.json").json()) if p[1] not in STREAMS}
        assert {p[2] for p in declared} == {"query", "header"}  # both kinds exist to fuzz (e.g. offset, Idempotency-Key)
        for mode in GenerationMode:  # every query parameter and header of the schema was sent, valid and broken
            missing = declared - {p[1:] for p in sent if p[0] is mode}
            assert not missing, (mode.value, sorted(missing)[:5])
        _fuzz_authorization(server.url)
    finally:
        server.stop()


HEADER_TEXT = st.text(st.characters(codec="latin-1", exclude_categories=("Cc",)), max_size=300)


def _fuzz_authorization(url: str) -> None:
    """Arbitrary ``Authorization`` values (the security scheme, which schemathesis does not break) never give 5xx."""

    @given(value=HEADER_TEXT, bearer=st.booleans())
    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def exercise(value: str, bearer: bool) -> None:
        header = (("Bearer " if bearer else "") + value).encode("latin-1").strip(b" \t")  # HTTP trims them anyway
        for method, path in (("GET", "/v1/trips"), ("POST", "/v1/trips"), ("GET", "/v1/gaps/hexes")):
            response = httpx.request(method, url + path, headers={"Authorization": header}, json={})
            assert response.status_code == 401, (method, path, header, response.status_code)

    exercise()
