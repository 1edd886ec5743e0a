"""Backoff arithmetic and retry-after parsing."""

from __future__ import annotations

import random
from email.utils import formatdate

import pytest

from autocomp.llm import BadRequestError, RetryPolicy, ServerError
from autocomp.llm.retry import call_with_retries, parse_retry_after


def test_backoff_doubles_caps_and_jitters():
    policy = RetryPolicy(max_attempts=10, base_delay_s=1, max_delay_s=8, jitter=0.5, rng=random.Random(1))
    delays = [policy.delay(k, None) for k in range(1, 7)]
    for k, d in enumerate(delays, start=1):
        cap = min(8, 2 ** (k - 1))
        assert cap * 0.5 <= d <= cap
    assert policy.delay(10, None) is None


def test_same_rng_seed_same_delays():
    a = RetryPolicy(rng=random.Random(5))
    b = RetryPolicy(rng=random.Random(5))
    assert [a.delay(k, None) for k in (1, 2, 3)] == [b.delay(k, None) for k in (1, 2, 3)]


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after": "12"}, 12.0),
        ({"retry-after": "1.5"}, 1.5),
        ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),
        ({"retry-after": "soon"}, None),
        ({}, None),
    ],
)
def test_parse_retry_after(headers, expected):
    assert parse_retry_after(headers) == expected


def test_parse_retry_after_http_date():
    assert parse_retry_after({"retry-after": formatdate(1030, usegmt=True)}, now=lambda: 1000.0) == 30.0


def test_non_transient_errors_are_not_retried():
    calls = []

    def fail():
        calls.append(1)
        raise BadRequestError("no")

    with pytest.raises(BadRequestError):
        call_with_retries(fail, RetryPolicy(sleep=lambda s: None), what="x")
    assert len(calls) == 1


def test_server_retry_after_is_honoured():
    waits: list[float] = []
    outcomes = [ServerError("busy", retry_after=4.0), "ok"]

    def flaky():
        out = outcomes.pop(0)
        if isinstance(out, Exception):
            raise out
        return out

    assert call_with_retries(flaky, RetryPolicy(sleep=waits.append), what="x") == "ok"
    assert waits == [4.0]
