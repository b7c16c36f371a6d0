"""How soon `muster up` starts a dead process apart again (the pure rule; the restart itself is
tested with real processes in tests/integration/test_notifier_process.py)."""

from consumers.component_processes import RESTART_MAX_S, STABLE_S, restart_delay


def test_a_first_crash_restarts_at_once() -> None:
    assert restart_delay(None, uptime=0.5) == 0.0


def test_a_crash_loop_backs_off_doubling_to_the_cap() -> None:
    delays, previous = [], None
    for _ in range(8):
        previous = restart_delay(previous, uptime=0.5)
        delays.append(previous)
    assert delays == [0.0, 1.0, 2.0, 4.0, 8.0, 16.0, RESTART_MAX_S, RESTART_MAX_S]


def test_a_run_that_lasted_resets_the_backoff() -> None:
    assert restart_delay(RESTART_MAX_S, uptime=STABLE_S) == 0.0
    assert restart_delay(0.0, uptime=1.0) == 1.0
