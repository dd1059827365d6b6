"""The end-to-end demo (``simdask demo`` / ``make demo``): a heated plate in C and Fortran, steered live.

An :class:`~simdask.Experiment` launches a store, a Dask cluster (with its
dashboard), the inference service and a small MPI simulation in C and in
Fortran, built with CMake against the checkout's clients (a Python rank
stands in, saying so, where they cannot be built). Every step each
simulation asks ``run_model`` for its cooling term, a model trained online
on a Dask worker; the analysis watches the runs as xarray, computes
diagnostics on the cluster and steers the heating. The demo writes PNG
plots, zarr archives and an HTML report into its output folder and prints a
summary. Modules: :mod:`~simdask.demo.build` (CMake),
:mod:`~simdask.demo.standin` (the Python rank), :mod:`~simdask.demo.surrogate`
(the model and its trainer), :mod:`~simdask.demo.analysis` (watch, Dask,
steering), :mod:`~simdask.demo.report` (plots, HTML, summary),
:mod:`~simdask.demo.run` (the story).
"""

from .run import DemoSettings, run_demo

__all__ = ["DemoSettings", "run_demo"]
