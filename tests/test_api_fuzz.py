"""Property-based tests of the whole console API: schemathesis generates requests from ``/api/v1/openapi.json``
and sends them as each role — the public, admin, bureau, a department (市住建局) and a district (武进区) — and
every response must be no server error and must match the response schema declared for its status.

The app is the console on a copy of the console test workspace (the generated writes — new records, transitions,
users — must not reach the workspace other test modules read). ``POST /auth/logout`` is left out: it would revoke
the very token the rest of the run uses. Examples per operation are few (:data:`EXAMPLES`) so the file stays within
minutes on a busy two-core machine; the ``slow`` marker lets CI run it as a step of its own.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from qingshan.web.app import create_console_app

from .web_fixtures import AS_OF, LEDGER_TODAY, PASSWORD, cheap_password_hashing, shared_workspace

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::RuntimeWarning")]

#: generated requests per operation and role: valid inputs, then invalid ones
EXAMPLES = {GenerationMode.POSITIVE: 6, GenerationMode.NEGATIVE: 4}
ROLES = {"anonymous": None, "admin": "admin", "bureau": "bureau", "department": "zjj", "district": "wujin"}
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance]


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory) -> Iterator:
    ws = tmp_path_factory.mktemp("fuzz") / "ws"
    shutil.copytree(shared_workspace(tmp_path_factory.getbasetemp()), ws)
    mp = cheap_password_hashing()
    app = create_console_app(ws, today=LEDGER_TODAY, as_of=AS_OF, warm=False)
    with TestClient(app) as client:
        tokens = {}
        for role, username in ROLES.items():
            if username is None:
                tokens[role] = {}
                continue
            r = client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
            assert r.status_code == 200, r.text
            tokens[role] = {"Authorization": f"Bearer {r.json()['access_token']}"}
        app.state.fuzz_tokens = tokens
        app.state.fuzz_records = _some_records(app)
        yield app
    mp.undo()


def _some_records(app) -> list[int]:
    """Two records of each kind: generated bodies then reach real records, not only 404s."""
    from sqlalchemy import select

    from qingshan.ledger.models import KINDS, Record

    with app.state.ledger.session() as s:
        return [rid for kind in KINDS for rid in s.execute(
            select(Record.id).where(Record.kind == kind).order_by(Record.id).limit(2)).scalars()]


@pytest.fixture(scope="module")
def operations(fuzz_app) -> list:
    async def requests_only(scope, receive, send) -> None:
        """The app without its lifespan: the fixture's TestClient runs it once (schemathesis would run it again,
        and its shutdown closes the store)."""
        if scope["type"] != "lifespan":
            await fuzz_app(scope, receive, send)
            return
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})

    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", requests_only).exclude(
        path="/api/v1/auth/logout")
    return [result.ok() for result in schema.get_all_operations()]


def _strategy(operation, mode: GenerationMode, records: list[int]):
    """Generated requests; half of them, where the path names a record, for one of ``records``."""
    generated = operation.as_strategy(mode)
    if "{record_id}" not in operation.path or mode is GenerationMode.NEGATIVE:
        return generated
    return st.one_of(generated, st.sampled_from(records).flatmap(
        lambda rid: operation.as_strategy(mode, path_parameters={"record_id": rid})))


def _fuzz(operation, headers: dict[str, str], mode: GenerationMode, records: list[int]) -> None:
    """``EXAMPLES`` generated requests to ``operation``, each checked (hypothesis shrinks a failure)."""

    @settings(max_examples=EXAMPLES[mode], deadline=None, derandomize=True, database=None, print_blob=False,
              phases=[Phase.explicit, Phase.generate, Phase.shrink], suppress_health_check=list(HealthCheck))
    @given(case=_strategy(operation, mode, records))
    def run(case) -> None:
        case.call_and_validate(headers=headers, checks=CHECKS)

    run()


#: they take a token, but answer everyone alike (the disclosure is built with the public's view whoever asks)
SAME_FOR_EVERYONE = {"GET /api/v1/reports/rectification", "GET /api/v1/reports/inspections"}


def identifies_caller(operation) -> bool:
    """Whether the answer depends on who asks: the operation accepts a token (a security requirement)."""
    return bool(operation.definition.raw.get("security")) and operation.label not in SAME_FOR_EVERYONE


@pytest.mark.parametrize("role", ROLES)
def test_api_as_each_role(role, operations, fuzz_app):
    """Valid and invalid inputs as ``role`` to every operation whose answer depends on the caller (the ledger,
    sign-in, overview, bulletin); the measurement operations, the same for everyone, are run once, as the public.
    Every failure is listed, not only the first."""
    assert len(operations) > 30
    headers = fuzz_app.state.fuzz_tokens[role]
    chosen = [op for op in operations if role == "anonymous" or identifies_caller(op)]
    assert chosen
    failures = []
    for operation in chosen:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            started = time.perf_counter()
            try:
                _fuzz(operation, headers, mode, fuzz_app.state.fuzz_records)
            except Unsatisfiable:  # no invalid input exists (no parameters, or any string is valid)
                assert mode is GenerationMode.NEGATIVE, operation.label
            except (Exception, BaseExceptionGroup) as e:  # noqa: BLE001 (collected, reported together below)
                failures.append(f"{operation.label} [{mode.value}]: {type(e).__name__}: {str(e)[:1500]}")
            if os.environ.get("QINGSHAN_FUZZ_TIMES"):
                print(f"{time.perf_counter() - started:6.2f} s  {operation.label} [{mode.value}]")
    assert not failures, f"{len(failures)} failing operation(s) as {role}:\n\n" + "\n\n".join(failures)
