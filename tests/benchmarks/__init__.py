"""Tests of the benchmark harness in benchmarks/ (never of timings)."""
