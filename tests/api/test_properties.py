"""Property-based: no application payload, however strange, makes the API answer 5xx."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import valid_payload

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=60),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=10,
)
PATHS = [
    "given_names", "surname", "sex", "date_of_birth", "place_of_birth", "nationality",
    "passport", "passport.number", "passport.issuing_country", "passport.issue_date",
    "passport.expiry_date", "passport.mrz", "email", "phone", "home_address",
    "home_address.line1", "home_address.country", "occupation", "travel", "travel.purpose",
    "travel.intended_arrival", "answers", "answers.criminal_conviction",
    "answers.previous_refusal_details", "language", "declaration",
]  # fmt: skip


def _mutate(payload: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    target: Any = payload
    *parents, last = path.split(".")
    for part in parents:
        if not isinstance(target.get(part), dict):
            target[part] = {}
        target = target[part]
    target[last] = value
    return payload


mutations = st.lists(st.tuples(st.sampled_from(PATHS), json_values), min_size=1, max_size=5)
BASE = valid_payload()


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(changes=mutations, whole=st.booleans(), anything=json_values)
def test_no_payload_gives_a_server_error(client, no_rate_limits, changes, whole, anything):
    payload: Any = anything if whole else copy.deepcopy(BASE)
    if not whole:
        for path, value in changes:
            payload = _mutate(payload, path, value)
    response = client.post("/api/v1/applications", json=payload)
    assert response.status_code < 500, response.get_data(as_text=True)
    assert response.status_code in (202, 400, 415, 422)
    if response.status_code == 422:
        assert response.get_json()["errors"]
