"""The fan-out's growing steps (notifications/fanout.py): the first pushes go out after a
small batch, the bulk in large ones, and the steps together list every member once."""

import pytest
from lederappen.notifications import fanout, outgoing


def test_steps_double_from_the_first_up_to_the_largest():
    sizes = [fanout.step_size(n) for n in range(8)]
    assert sizes[0] == fanout.FIRST_STEP
    assert sizes[:4] == [fanout.FIRST_STEP << n for n in range(4)]
    assert max(sizes) == fanout.STEP_SIZE == fanout.step_size(10_000)
    assert all(s <= fanout.BATCH_SIZE for s in sizes)  # one delivery batch a step


class _Register:
    """The member register's id listing, paged as lederne.no pages it."""

    def __init__(self, ids: list[str]):
        self.ids = ids
        self.page_sizes: list[int] = []

    def list_member_ids(self, *, status, county, page_token, page_size):
        assert status == "active" and county is None
        self.page_sizes.append(page_size)
        start = int(page_token or 0)
        end = start + page_size
        return self.ids[start:end], (str(end) if end < len(self.ids) else None)


@pytest.mark.parametrize("members", [1, 999, 1000, 1001, 7000, 25_500])
def test_the_steps_list_every_member_once_in_order(monkeypatch, members):
    register = _Register([f"{n:08d}" for n in range(members)])
    monkeypatch.setattr(fanout.lederne, "client", lambda settings: register)
    everyone = outgoing.Selection(category="news", audience_kind="all")
    listed: list[str] = []
    sizes = []
    cursor, step = None, 0
    while True:
        page, cursor = fanout.audience_page(everyone, cursor, None, fanout.step_size(step))
        listed += page
        sizes.append(len(page))
        if cursor is None:
            break
        step += 1
    assert listed == register.ids
    assert all(size <= fanout.step_size(n) for n, size in enumerate(sizes))
    assert set(register.page_sizes) == {fanout.PAGE_SIZE}
