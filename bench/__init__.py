"""Benchmark suite of the FHIR R4 server: figures printed for people, not timed tests.

``make bench`` (``python -m bench.run``) starts PostgreSQL, a migrated ``ece_bench`` database and
``ece serve`` unless ``BENCH_URL`` names a running server, then prints throughput, latency, memory
and bulk-load figures next to their targets. Every size is an environment variable (``bench.config``).
"""
