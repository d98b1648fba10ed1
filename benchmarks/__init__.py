"""Side-by-side benchmarks of zarrflow against zarr 2.18, zarr 3, tensorstore and two limits.

Entry point: ``python -m benchmarks.run`` (see ``benchmarks/README.md``).

Every module here imports only the standard library, numpy and numcodecs at import
time, so the package loads in both the main venv and the zarr 2.18 venv; the
engines themselves are imported lazily by the adapter that needs them.
"""
