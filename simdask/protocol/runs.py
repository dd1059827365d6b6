"""The end of a run (``docs/protocol.md``, "End of a run"): the marker a writer puts when it is done.

A writer puts the tensor :data:`END_OF_RUN` (any value; by convention a 0-d
int64 holding the number of steps) under its write prefix with its ordinary
``put_tensor``, and deletes it when a new run starts. Readers only test that
the key exists, with their read prefix.
"""

from __future__ import annotations

from .session import Session
from .tensors import key_exists

__all__ = ["END_OF_RUN", "run_ended"]

#: Tensor name a writer puts (any value; by convention a 0-d tensor) to say its run is over.
END_OF_RUN = "simdask:end"


def run_ended(session: Session, marker_key: str) -> bool:
    """Whether the run whose end-of-run marker is ``marker_key`` (:data:`END_OF_RUN` with a read prefix) is over."""
    return key_exists(session, marker_key)
