"""Dynamic batching: requests joined along the first dimension and split back exactly."""

from __future__ import annotations

import numpy as np
import pytest

from simdask.inference.batching import join_inputs, plan_batches, split_outputs


def rows(n: int, value: float, width: int = 3) -> np.ndarray:
    return np.full((n, width), value, dtype=np.float32)


def test_requests_fill_batches_up_to_batch_size_in_order():
    inputs = [[rows(2, 0)], [rows(3, 1)], [rows(4, 2)], [rows(1, 3)]]
    batches = plan_batches(inputs, batch_size=5)
    assert [b.members for b in batches] == [[0, 1], [2, 3]]
    joined = join_inputs(batches[0], inputs)[0]
    assert joined.shape == (5, 3) and joined[:2].max() == 0 and joined[2:].min() == 1
    parts = split_outputs(batches[0], [joined * 10])
    np.testing.assert_array_equal(parts[0][0], rows(2, 0))
    np.testing.assert_array_equal(parts[1][0], rows(3, 10))


def test_incompatible_requests_do_not_share_a_batch():
    inputs = [
        [rows(1, 0)],
        [rows(1, 0, width=4)],
        [rows(1, 0).astype(np.float64)],
        [np.float32(1.0) * np.ones(())],
        [rows(9, 0)],
        [],
        [rows(1, 0), rows(2, 0)],
    ]
    batches = plan_batches(inputs, batch_size=4)
    assert sorted(len(b.members) for b in batches) == [1] * 7


def test_no_batching_when_batch_size_is_zero():
    assert [b.members for b in plan_batches([[rows(1, 0)]] * 3, 0)] == [[0], [1], [2]]


def test_outputs_that_do_not_map_rows_cannot_be_split():
    batch = plan_batches([[rows(1, 0)], [rows(1, 1)]], 2)[0]
    with pytest.raises(ValueError, match="cannot be split per request"):
        split_outputs(batch, [np.zeros(5)])
