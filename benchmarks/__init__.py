"""Benchmarks run by `make bench`; results go to benchmarks/results/."""
