"""The Python client facade: tensors, datasets, aggregation lists, polling, key prefixes, models."""

from ..protocol import Dataset
from .client import Client

__all__ = ["Client", "Dataset"]
