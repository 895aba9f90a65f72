"""National SearchParameters the referral worklists need, in the format of ece's search registry
(``ece.indexing.register_search_parameters``, registered by the app wiring).

``Task?plazo`` is the referral's current deadline (Task.restriction.period.end, set by the engine): a
worklist sorted with ``_sort=plazo`` lists the overdue and the most urgent first, and ``plazo=lt<now>`` finds
the overdue ones.
"""

from __future__ import annotations

from fhir_profiles import systems

DEADLINE = "plazo"

PARAMETERS: dict[str, dict[str, dict]] = {
    "Task": {
        DEADLINE: {
            "type": "date",
            "url": systems.canonical("SearchParameter", "Task-plazo"),
            "expression": "Task.restriction.period.end",
            "paths": [{"steps": ["restriction", "period", "end"]}],
            "comparators": ["eq", "ne", "gt", "ge", "lt", "le", "sa", "eb", "ap"],
            "modifiers": ["missing"],
        },
    },
}
