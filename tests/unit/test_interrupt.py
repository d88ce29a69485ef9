"""Ctrl-C during a sweep, the same for every executor (executors/interrupt.py): the first press stops
starting runs, the second kills; the handler before the sweep comes back after it."""

from __future__ import annotations

import os
import signal

from mixft.runner.execute.executors.interrupt import CtrlC


def test_first_press_stops_second_kills_and_the_old_handler_returns():
    events, stops = [], []
    before = signal.getsignal(signal.SIGINT)
    with CtrlC(lambda event, text: events.append((event, text)), stops.append) as ctrl_c:
        assert not ctrl_c.pressed
        os.kill(os.getpid(), signal.SIGINT)
        os.kill(os.getpid(), signal.SIGINT)
    assert stops == [False, True] and ctrl_c.pressed
    assert events == [("stopping", "Ctrl-C again to kill"), ("stopping", "killing running runs")]
    assert signal.getsignal(signal.SIGINT) is before


def test_the_handler_returns_when_the_sweep_raises():
    before = signal.getsignal(signal.SIGINT)
    try:
        with CtrlC(lambda event, text: None, lambda kill: None):
            raise RuntimeError("a run could not start")
    except RuntimeError:
        pass
    assert signal.getsignal(signal.SIGINT) is before
