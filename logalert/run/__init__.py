"""One rule run and many at a tick: window, runner, tick, realert/silence."""
