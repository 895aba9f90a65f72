"""Cost of the national profile validator per resource, beyond the structural parse, and ICD-10 typeahead latency.

    python -m bench.profiles [--rounds 2000]

For each national profile's example resource: the time of ``ece.validation.check_resource`` without any profile
validator (the structural parse the store always does), and the extra time the national validator adds.
Then ``ValueSet/$expand`` on the whole of ICD-10 for typical typeahead filters (cold prefix cache each time).
"""

from __future__ import annotations

import argparse
import statistics
import time

from ece import validation
from fhir_profiles import catalog, terminology
from fhir_profiles.systems import canonical
from fhir_profiles.validator import NationalProfileValidator, warm
from tests.fhir_profiles.factories import EXAMPLES

FILTERS = ["d", "di", "dia", "diabetes mellitus", "neumo", "pneumonia", "fracture femur", "J45", "S72.0", "tuberc",
           "z", "hypertension"]


def _per_call(function, rounds: int) -> float:
    started = time.perf_counter()
    for _ in range(rounds):
        function()
    return (time.perf_counter() - started) / rounds


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2000)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    warm()
    print(f"compilación de {len(catalog.profiles())} perfiles + índice CIE-10 / compile + ICD-10 index: "
          f"{(time.perf_counter() - started) * 1000:.0f} ms")
    validator = NationalProfileValidator(frozenset(catalog.national_types()))
    validation._profile_validators[:] = [validator]
    for factory in EXAMPLES.values():  # first use loads the R4B models and fills caches: not what is measured
        validation.check_resource(factory(), max_json_depth=96)
    print(f"{'perfil / profile':32} {'estructura µs':>14} {'+ perfil µs':>12}")
    extras = []
    for pid, factory in sorted(EXAMPLES.items()):
        data = factory()
        validation._profile_validators[:] = []
        base = _per_call(lambda d=data: validation.check_resource(d, max_json_depth=96), args.rounds)
        validation._profile_validators[:] = [validator]
        full = _per_call(lambda d=data: validation.check_resource(d, max_json_depth=96), args.rounds)
        validation._profile_validators[:] = []
        extras.append(full - base)
        print(f"{pid:32} {base * 1e6:14.0f} {(full - base) * 1e6:12.0f}")
    print(f"coste del perfil por recurso / profile cost per resource: mediana {statistics.median(extras) * 1e6:.0f} µs,"
          f" máximo {max(extras) * 1e6:.0f} µs")
    url = canonical("ValueSet", "cie-10")
    latencies = []
    for text in FILTERS:
        samples = []
        for _ in range(20):
            terminology.icd10().prefix.cache_clear()
            t0 = time.perf_counter()
            result = terminology.expand(url=url, filter_text=text, offset=0, count=20)
            samples.append(time.perf_counter() - t0)
        latencies.extend(samples)
        print(f"$expand CIE-10 filter={text!r:22} total={result.total:5}  p50 {statistics.median(samples) * 1000:.2f} "
              f"ms  max {max(samples) * 1000:.2f} ms")
    latencies.sort()
    print(f"$expand CIE-10 ({len(latencies)} peticiones / requests): p50 {latencies[len(latencies) // 2] * 1000:.2f} "
          f"ms, p99 {latencies[int(len(latencies) * 0.99)] * 1000:.2f} ms, máx {latencies[-1] * 1000:.2f} ms")


if __name__ == "__main__":
    main()
