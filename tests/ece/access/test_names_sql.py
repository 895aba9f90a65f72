"""Names written into the access rules' SQL rather than bound (ece.access.policy.names_sql)."""

from __future__ import annotations

import pytest

from ece.access.policy import names_sql


def test_type_and_parameter_names_become_a_text_array():
    assert names_sql(("Observation", "policy-holder")) == "CAST('{Observation,policy-holder}' AS text[])"


@pytest.mark.parametrize("name", ["Patient'", "a,b", "{x}", "", "a b", 'x"', "1abc"])
def test_anything_but_a_plain_name_is_refused(name):
    with pytest.raises(ValueError):
        names_sql(("Patient", name))
