"""zarr-python 2.18's own test suite, run against zarrflow (see test_zarr2_suite.py)."""
