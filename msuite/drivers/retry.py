"""Bounded retries with reconnect, shared by every driver."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from msuite.drivers.errors import TransportError

__all__ = ["call_with_retry"]

T = TypeVar("T")


def call_with_retry(
    op: Callable[[], T], reconnect: Callable[[], None], *, retries: int, idempotent: bool
) -> T:
    """Run ``op``; after a transport error reconnect and, when it is safe, try again.

    A timeout or a broken reply leaves the stream out of step, so the link is always
    re-established (reopened, and resynchronised where the driver does so), even when the
    request is not repeated. ``op`` is tried at most ``retries + 1`` times when
    ``idempotent``, once otherwise; the last transport error is raised.
    """
    attempt = 0
    while True:
        try:
            return op()
        except TransportError as exc:
            final = not idempotent or attempt >= retries
            try:
                reconnect()
            except TransportError as again:
                if final:
                    raise exc from again
            if final:
                raise
            attempt += 1
