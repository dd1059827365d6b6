"""The Python client: tensors, datasets, aggregation lists, polling, key prefixes."""

from .client import Client
from .dataset import Dataset

__all__ = ["Client", "Dataset"]
