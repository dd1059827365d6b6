"""Aggregation lists through ``smartredis.Client``: append, length, polling, ranges, copy, rename, delete."""

from __future__ import annotations

import numpy as np
import pytest
from smartredis import Dataset
from smartredis.error import RedisReplyError


def fill(client, list_name: str = "agg", count: int = 5) -> None:
    for i in range(count):
        ds = Dataset(f"ds_{i}")
        ds.add_tensor("step", np.array([i]))
        ds.add_meta_string("label", f"member {i}")
        client.put_dataset(ds)
        client.append_to_list(list_name, ds)


def steps(datasets) -> list[int]:
    return [int(ds.get_tensor("step")[0]) for ds in datasets]


def test_append_length_and_entries(sr_client, peek):
    sr_client.delete_list("agg")  # a missing list is no error
    fill(sr_client)
    assert sr_client.get_list_length("agg") == 5
    assert steps(sr_client.get_datasets_from_list("agg")) == [0, 1, 2, 3, 4]
    assert [d.get_meta_strings("label")[0] for d in sr_client.get_datasets_from_list("agg")][:2] == [
        "member 0",
        "member 1",
    ]
    assert peek.session.transport.execute("agg", "LRANGE", "agg", 0, 1) == [b"{ds_0}", b"{ds_1}"]


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [(0, 1, [0, 1]), (1, 3, [1, 2, 3]), (-2, -1, [3, 4]), (0, -1, [0, 1, 2, 3, 4]), (3, 99, [3, 4]), (3, 1, [])],
)
def test_ranges(sr_client, start, end, expected):
    fill(sr_client)
    assert steps(sr_client.get_dataset_list_range("agg", start, end)) == expected


def test_polling_on_length(sr_client):
    fill(sr_client, count=4)
    assert sr_client.poll_list_length("agg", 4, 10, 3)
    assert not sr_client.poll_list_length("agg", 5, 10, 3)
    assert sr_client.poll_list_length_gte("agg", 3, 10, 3) and not sr_client.poll_list_length_gte("agg", 5, 10, 3)
    assert sr_client.poll_list_length_lte("agg", 4, 10, 3) and not sr_client.poll_list_length_lte("agg", 3, 10, 3)
    with pytest.raises(ValueError):
        sr_client.poll_list_length("agg", -1, 10, 3)


def test_copy_rename_delete(sr_client):
    fill(sr_client, count=3)
    sr_client.copy_list("agg", "copy")
    sr_client.copy_list("copy", "copy")  # onto itself: unchanged
    sr_client.rename_list("copy", "moved")
    assert sr_client.get_list_length("copy") == 0
    assert steps(sr_client.get_datasets_from_list("moved")) == [0, 1, 2]
    sr_client.delete_list("moved")
    assert sr_client.get_list_length("moved") == 0
    assert sr_client.get_datasets_from_list("moved") == []
    assert sr_client.dataset_exists("ds_0")  # deleting a list leaves its datasets
    with pytest.raises(RedisReplyError, match="nothing"):
        sr_client.copy_list("nothing", "x")


def test_argument_types(sr_client):
    with pytest.raises(TypeError):
        sr_client.append_to_list("agg", np.ones(2))
    with pytest.raises(TypeError):
        sr_client.get_dataset_list_range("agg", "0", 1)
    with pytest.raises(TypeError):
        sr_client.poll_list_length_gte("agg", 1, 10, "3")
    with pytest.raises(ValueError):
        sr_client.get_datasets_from_list("")
