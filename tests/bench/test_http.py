"""bench/http.py reads wrk's output: a timed-out request is counted, a failed answer stops.

The outputs are wrk 4.1's own (``wrk -t1 -c4 -d3s --timeout 1s --latency``), captured against
a server that stalls one request in 200 and, for the second, answers some with 500.
"""

from __future__ import annotations

import pytest

from bench.http import MAX_TIMEOUT_SHARE, WrkRun, parse_wrk, summary

ONE_TIMEOUT = """\
Running 3s test @ http://127.0.0.1:18761/
  1 threads and 4 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    43.27ms    5.61ms  48.03ms   98.28%
    Req/Sec    77.70     16.63   121.00     53.33%
  Latency Distribution
     50%   43.99ms
     75%   44.01ms
     90%   44.04ms
     99%   46.24ms
  233 requests in 3.00s, 26.04KB read
  Socket errors: connect 0, read 0, write 0, timeout 1
Requests/sec:     77.65
Transfer/sec:      8.68KB
"""

NON_2XX = """\
Running 3s test @ http://127.0.0.1:18762/
  1 threads and 4 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    43.30ms    5.61ms  48.03ms   98.28%
    Req/Sec    77.73     17.88   121.00     86.67%
  Latency Distribution
     50%   43.98ms
     75%   44.01ms
     90%   44.06ms
     99%   47.98ms
  233 requests in 3.00s, 26.09KB read
  Socket errors: connect 0, read 0, write 0, timeout 1
  Non-2xx or 3xx responses: 3
Requests/sec:     77.56
Transfer/sec:      8.69KB
"""

CLEAN = ONE_TIMEOUT.replace("  Socket errors: connect 0, read 0, write 0, timeout 1\n", "")


def test_a_clean_run_gives_its_rate_and_latencies() -> None:
    assert parse_wrk(CLEAN) == WrkRun(77.65, 43.99, 46.24, requests=233, timeouts=0)


def test_a_timed_out_request_is_counted_not_fatal() -> None:
    run = parse_wrk(ONE_TIMEOUT)
    assert run == WrkRun(77.65, 43.99, 46.24, requests=233, timeouts=1)
    [line] = summary({"strtree": [parse_wrk(CLEAN), run]})
    assert "1 of 466 requests timed out" in line


@pytest.mark.parametrize(
    "out",
    [
        NON_2XX,
        ONE_TIMEOUT.replace("read 0", "read 2"),
        ONE_TIMEOUT.replace("connect 0", "connect 1"),
        ONE_TIMEOUT.replace("write 0", "write 1"),
        # more of the requests than MAX_TIMEOUT_SHARE
        ONE_TIMEOUT.replace("timeout 1", f"timeout {int(233 * MAX_TIMEOUT_SHARE) + 1}"),
    ],
)
def test_failed_answers_and_broken_sockets_stop_the_run(out: str) -> None:
    with pytest.raises(RuntimeError, match="wrk saw failures for http://x/"):
        parse_wrk(out, "http://x/")


def test_failed_answers_may_be_counted_like_timeouts() -> None:
    """bench/fleet.py, which overloads the cores on purpose, counts a 503 instead of stopping."""
    few = NON_2XX.replace("timeout 1", "timeout 0").replace("responses: 3", "responses: 2")
    assert parse_wrk(few, allow_errors=True) == WrkRun(
        77.56, 43.98, 47.98, requests=233, timeouts=0, errors=2
    )
    # Three lost of 233 is more than MAX_TIMEOUT_SHARE: the run measured a failure.
    with pytest.raises(RuntimeError, match="wrk saw failures"):
        parse_wrk(NON_2XX.replace("responses: 3", "responses: 2"), allow_errors=True)
