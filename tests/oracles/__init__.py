"""Access to the external implementations zarrflow is checked against.

zarr-python 3.x and tensorstore are imported in-process (they are test extras).
zarr-python 2.18 cannot share a virtual environment with 3.x, so it lives in a
second venv (``.venv-zarr2`` at the repository root, or ``$ZARRFLOW_ZARR2_PYTHON``)
and is driven through a subprocess that exchanges JSON.
"""
