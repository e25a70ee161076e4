"""Streaming reader: a thread that fetches scans and hands them on, checking sequence numbers."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from msuite.core.errors import MSuiteError
from msuite.drivers.errors import SequenceGapError
from msuite.drivers.protocol.records import ScanRecord

if TYPE_CHECKING:
    from msuite.drivers.ms import MassSpectrometer

__all__ = ["ScanStreamer"]

_END = object()
_FINAL_STATES = {"DONE", "ABORTED"}


class ScanStreamer:
    """Fetches scans in a background thread until the run ends, a fault occurs or stop().

    The stream follows the run that is acquiring when it starts, or else the next run started;
    it ends once that run is DONE or ABORTED and every scan has been fetched.

    Scans go to ``callback`` (called in the reader thread) or, without one, to a queue read by
    iterating the streamer. A skipped sequence number raises :class:`SequenceGapError`; an
    instrument or transport error ends the stream and is re-raised to the consumer (from the
    iterator, or from :meth:`join`).
    """

    def __init__(
        self,
        ms: MassSpectrometer,
        from_seq: int | None = None,
        *,
        callback: Callable[[ScanRecord], Any] | None = None,
        poll_s: float = 0.005,
        batch: int = 10_000,
    ) -> None:
        self.ms = ms
        self.expected = from_seq
        self.callback = callback
        self.poll_s = poll_s
        self.batch = batch
        self.queue: queue.Queue[Any] = queue.Queue()
        self.error: BaseException | None = None
        self.received = 0
        self.points = 0
        self._run0 = 0
        self._running0 = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ms-stream", daemon=True)

    def start(self) -> ScanStreamer:
        """Start the reader thread."""
        if self.expected is None:
            self.expected = self.ms.next_sequence()
        self._run0 = self.ms.run_number()
        self._running0 = self.ms.acquisition_state() == "RUNNING"
        self._thread.start()
        return self

    def stop(self) -> None:
        """Ask the reader to stop after the current fetch."""
        self._stop.set()

    def join(self, timeout: float | None = None) -> None:
        """Wait for the reader; re-raise the error that ended it, if any."""
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise TimeoutError("stream reader still running")
        if self.error is not None and self.callback is not None:
            raise self.error

    @property
    def running(self) -> bool:
        """True while the reader thread is alive."""
        return self._thread.is_alive()

    def _deliver(self, records: list[ScanRecord]) -> None:
        for rec in records:
            if rec.sequence != self.expected:
                raise SequenceGapError(
                    f"scan sequence gap: expected {self.expected}, got {rec.sequence}",
                    field="sequence",
                    value=rec.sequence,
                    allowed=self.expected,
                    device=self.ms.name,
                    lost=rec.sequence - int(self.expected or 0),
                )
            self.expected = rec.sequence + 1
            self.received += 1
            self.points += rec.points.size
            if self.callback is not None:
                self.callback(rec)
            else:
                self.queue.put(rec)

    def _run_over(self) -> bool:
        """True once the run this stream follows has ended (DONE or ABORTED)."""
        if self.ms.acquisition_state() not in _FINAL_STATES:
            return False
        return self._running0 or self.ms.run_number() > self._run0

    def _run(self) -> None:
        try:
            finishing = False
            while not self._stop.is_set():
                records = self.ms.fetch_scans(int(self.expected or 0), self.batch)
                if records:
                    self._deliver(records)
                    continue
                if finishing:
                    break
                if self._run_over():
                    finishing = True  # one more fetch for scans made before the run ended
                    continue
                time.sleep(self.poll_s)
        except (MSuiteError, OSError) as exc:
            self.error = exc
        finally:
            self.queue.put(_END)

    def __iter__(self) -> Iterator[ScanRecord]:
        while True:
            item = self.queue.get()
            if item is _END:
                if self.error is not None:
                    raise self.error
                return
            yield item
