"""Progress on a terminal: what is running, a spinner and the seconds.

The ``cinderlib`` command shows it on stderr while a backend loads and an
operation runs.  It draws only when its stream is a terminal, so output
that is redirected or parsed stays clean, and it erases its line when the
operation ends, before the command prints anything.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from typing import Iterator, Optional, TextIO

FRAMES = '|/-\\'
# ANSI "erase to the end of the line", which every terminal emulator in use
# understands (TERM=dumb turns progress off); ERASE empties the line.
CLEAR_TO_END = '\x1b[K'
ERASE = '\r' + CLEAR_TO_END


def is_terminal(stream: TextIO) -> bool:
    """Whether ``stream`` is a terminal that understands ``ERASE``."""
    try:
        return stream.isatty() and os.environ.get('TERM') != 'dumb'
    except (AttributeError, ValueError):  # no isatty(), or closed
        return False


class Task:
    """One line of progress; ``update()`` changes what it says."""

    def __init__(self, stream: Optional[TextIO], label: str,
                 delay: float, interval: float) -> None:
        self._stream = stream
        self._label = label
        self._delay = delay
        self._interval = interval
        self._start = time.monotonic()
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._shown = False
        self._thread: Optional[threading.Thread] = None

    def update(self, label: str) -> None:
        """Say ``label`` from the next frame on."""
        with self._lock:
            self._label = label

    def _begin(self) -> None:
        if self._stream is None:
            return
        if self._delay <= 0:
            self._draw(0)
        self._thread = threading.Thread(target=self._spin, daemon=True,
                                        name='cinderlib-progress')
        self._thread.start()

    def _spin(self) -> None:
        frame = 1 if self._delay <= 0 else 0
        wait = self._interval if self._delay <= 0 else self._delay
        while not self._stopped.wait(wait):
            self._draw(frame)
            frame += 1
            wait = self._interval

    def _draw(self, frame: int) -> None:
        with self._lock:
            if self._stopped.is_set() or self._stream is None:
                return
            spinner = FRAMES[frame % len(FRAMES)]
            elapsed = f'{time.monotonic() - self._start:.1f} s'
            # A line that wraps could not be erased: cut the label.
            room = _width(self._stream) - 1 - len(spinner + elapsed) - 2
            label = self._label
            if len(label) > room:
                label = label[:max(room - 3, 0)] + '...'
            text = f'{spinner} {label} {elapsed}'
            try:
                self._stream.write('\r' + text + CLEAR_TO_END)
                self._stream.flush()
            except (OSError, ValueError):  # the terminal went away
                self._stream = None
                return
            self._shown = True

    def _end(self) -> None:
        self._stopped.set()
        if self._thread is not None:
            self._thread.join()
        with self._lock:
            if self._shown and self._stream is not None:
                try:
                    self._stream.write(ERASE)
                    self._stream.flush()
                except (OSError, ValueError):
                    pass
            self._shown = False


class Progress:
    """Progress lines on ``stream`` when it is a terminal.

    ``enabled`` forces it on or off (``None``: on for a terminal).  A task
    shows after ``delay`` seconds, so that quick ones do not flash, and
    redraws every ``interval`` seconds.
    """

    def __init__(self, stream: TextIO, enabled: Optional[bool] = None,
                 delay: float = 0.0, interval: float = 0.1) -> None:
        self.stream = stream
        self.enabled = is_terminal(stream) if enabled is None else enabled
        self.delay = delay
        self.interval = interval

    @contextlib.contextmanager
    def task(self, label: str) -> Iterator[Task]:
        """Show ``label`` while the block runs; the line is erased when it
        ends, however it ends."""
        task = Task(self.stream if self.enabled else None, label,
                    self.delay, self.interval)
        task._begin()
        try:
            yield task
        finally:
            task._end()


def _width(stream: TextIO) -> int:
    try:
        return os.get_terminal_size(stream.fileno()).columns or 80
    except (AttributeError, OSError, ValueError):
        return 80
