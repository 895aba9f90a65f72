"""A prototype tried on the bench database only (never on ece/): what a setting would change.

* custom plans: ``plan_cache_mode = force_custom_plan`` set on the bench database (what ``prepare_threshold=None``
  or that option in the server's connection would do), the server restarted and the mix measured again
  (``bench.search.custom_plans``).

The earlier prototypes (a scalar ``resource_type``, a date index for ``ge``, a GiST index over date ranges)
are in ece/ now: ``filters_sql`` and migration 0007_search_date_spans.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from urllib.parse import urlencode

from bench import population, search_mix, search_plans


@dataclass(frozen=True)
class Sample:
    label: str
    resource_type: str
    pairs: list[tuple[str, str]]

    @property
    def query(self) -> str:
        return urlencode(self.pairs)


def samples(seed: int, patients: int) -> list[Sample]:
    """One request of each type, about patients drawn (seeded) from the loaded ones."""
    rng = random.Random(seed + 7)
    out = []
    for label, resource_type in search_mix.QUERIES:
        key = population.patient_key(seed, rng.randrange(patients))
        out.append(Sample(label, resource_type, search_mix.params(label, key, rng)))
    return out


def set_plan_cache_mode(url: str, mode: str | None) -> None:
    """``ALTER DATABASE … SET plan_cache_mode`` (new sessions only); None resets it."""
    with search_plans.connect(url) as conn:
        database = conn.execute("SELECT current_database()").fetchone()[0]
        if mode is None:
            conn.execute(f'ALTER DATABASE "{database}" RESET plan_cache_mode')
        else:
            conn.execute(f'ALTER DATABASE "{database}" SET plan_cache_mode = {mode}')


def compare_block(before, after) -> list[str]:
    """Per query type and for the mix, before -> after (``bench.search.SizeResult`` each): p50 / p95 in the
    mix, and the median latency alone (one client, after the mix: the plans a warm server keeps)."""
    lines = [f"    {'query':<20} {'p50 now':>8} {'-> custom':>10} {'p95 now':>8} {'-> custom':>10} "
             f"{'alone now':>10} {'-> custom':>10}"]
    for label in [*(q for q, _ in search_mix.QUERIES), "whole mix"]:
        a = before.mix.mix if label == "whole mix" else before.mix.per_query[label]
        b = after.mix.mix if label == "whole mix" else after.mix.per_query[label]
        alone = ""
        if label in before.shapes and label in after.shapes:
            alone = f" {before.shapes[label].alone_ms:10.1f} {after.shapes[label].alone_ms:10.1f}"
        lines.append(f"    {label:<20} {a.percentile(50):8.1f} {b.percentile(50):10.1f} {a.percentile(95):8.1f} "
                     f"{b.percentile(95):10.1f}{alone}")
    lines.append(f"    requests/s {before.mix.mix.requests_per_s:,.1f} -> {after.mix.mix.requests_per_s:,.1f}; "
                 f"errors {before.mix.mix.errors} -> {after.mix.mix.errors}")
    return lines
