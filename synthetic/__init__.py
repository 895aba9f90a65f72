"""A synthetic Honduran health network: the demo data of ``make run``, the data of the tests and benchmarks.

``ece seed --patients N --seed S [--facilities F]`` writes, through the store's write path and validated
against the national profiles, facilities of every level with their buildings, services and professionals
(``synthetic.network``), patients with their clinical records (``synthetic.patients``, ``synthetic.clinical``,
``synthetic.records``), about 50 resources each, and referrals in every state of the lifecycle, moved by the
referral engine's own service functions (``synthetic.referrals``). ``synthetic.writer`` generates and validates
in worker processes and writes through ``ece.store``. Everything is drawn from seeded streams
(``synthetic.ids``): the same seed gives byte-identical resources, ids included (the referral Tasks and the
moments of referral events excepted: they follow the time of seeding), and patient ``i`` is the same whatever
the size of the data set, so a larger set extends a smaller one.

No real person is described: names are drawn independently, DNIs only follow the RNP layout.
"""

# Benchmark sizes (patients); a size includes the smaller ones: the 8k set is the 1k set plus 7,000 patients.
BENCH_SIZES = (1_000, 8_000, 64_000)
