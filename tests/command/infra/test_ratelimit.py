"""Database lookups for uncached press tokens have a per-address allowance of their own."""

from command.infra.ratelimit import Limits


def test_lookups_are_limited_per_address_and_off_with_the_floor() -> None:
    limits = Limits(per_token=100, per_address=200, emergency=5)
    allowed = [limits.may_look_up("10.0.0.1") for _ in range(40)]
    assert allowed[:15] == [True] * 15 and not any(allowed[16:])  # a burst of 3 s at 5/s
    assert limits.may_look_up("10.0.0.2")  # another address has its own
    off = Limits(emergency=0)
    assert all(off.may_look_up("10.0.0.1") for _ in range(100))
