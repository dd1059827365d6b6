"""What every client does on the store, below the client facade and above transport and wire.

``docs/protocol.md`` is this package's text, and the C client mirrors it file
for file. Every function works on a :class:`Session` (connections plus chunk
settings) and raw store keys, key prefixes already applied
(:class:`KeyPrefixes` applies them):

- :mod:`~simdask.protocol.tensors`: encode, put, get, unpack, headers, delete, copy;
- :mod:`~simdask.protocol.dataset`, :mod:`~simdask.protocol.dataset_io`: the
  :class:`Dataset` object, its metadata encoding, and datasets in the store;
- :mod:`~simdask.protocol.lists`: aggregation lists;
- :mod:`~simdask.protocol.models`: stored models and scripts, their specs and versions;
- :mod:`~simdask.protocol.requests`: run requests and their replies;
- :mod:`~simdask.protocol.runs`: the end-of-run marker;
- :mod:`~simdask.protocol.keys`, :mod:`~simdask.protocol.scripts`: the key
  layout, and the Lua script every client sends.

Examples
--------
>>> from simdask.protocol import Session, SessionOptions, tensors
>>> session = Session(SessionOptions.resolve(store.address))          # doctest: +SKIP
>>> tensors.put_tensors(session, [tensors.encode_tensor(session, "u", np.ones(3))])  # doctest: +SKIP
"""

from . import dataset, dataset_io, keys, lists, models, requests, runs, scripts, session, tensors
from .dataset import Dataset
from .keys import KeyPrefixes
from .models import ModelSpec
from .requests import RunRequest
from .runs import END_OF_RUN
from .session import Session, SessionOptions
from .tensors import EncodedTensor

__all__ = [
    "END_OF_RUN",
    "Dataset",
    "EncodedTensor",
    "KeyPrefixes",
    "ModelSpec",
    "RunRequest",
    "Session",
    "SessionOptions",
    "dataset",
    "dataset_io",
    "keys",
    "lists",
    "models",
    "requests",
    "runs",
    "scripts",
    "session",
    "tensors",
]
