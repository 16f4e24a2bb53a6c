"""The membership-end job's reading of the register: ended and unknown keys are forgotten,
active ones kept, and a register that knows nobody at all is not believed."""

import pytest
from lederappen.core.problems import DependencyUnavailable
from lederappen.privacy.membership_end import compare


class Register:
    def __init__(self, statuses: dict[str, str], listed: list[str]):
        self.statuses, self.listed = statuses, listed

    def membership_statuses(self, ids):
        return {i: self.statuses[i] for i in ids if i in self.statuses}

    def list_member_ids(self, *, status, page_size):
        return self.listed[:page_size], None


def test_ended_and_unknown_keys_are_forgotten_and_active_ones_kept():
    reg = Register({"1": "active", "2": "ended", "3": "suspended"}, ["1"])
    batch = compare(reg, ["1", "2", "3", "4"])
    assert batch.ended == ["2"] and batch.unknown == ["4"] and batch.forget == ["2", "4"]


def test_a_batch_nobody_knows_is_believed_when_the_register_lists_members():
    keys = [f"gone-{i:03d}" for i in range(150)]
    assert compare(Register({}, ["1000000"]), keys).forget == keys


def test_an_empty_register_is_not_believed():
    with pytest.raises(DependencyUnavailable):
        compare(Register({}, []), [f"k{i:03d}" for i in range(100)])
    # a small batch of strangers is believed (nothing suspicious about a few stale keys)
    assert compare(Register({}, []), ["a", "b"]).unknown == ["a", "b"]
