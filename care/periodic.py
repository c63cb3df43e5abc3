"""Work done in a daemon thread, at start and then every few seconds or hours.

The action server runs the recordings' and conversations' purgers and the safety checks'
watch this way (anxin/action_server.py), so none needs an operator's cron. A round that
fails (the database away for a while) is logged by its exception's name, never its data,
and the next round comes as usual.
"""

from __future__ import annotations

import logging
import threading
from typing import Callable

log = logging.getLogger(__name__)


class Every:
    def __init__(self, name: str, every_s: float, work: Callable[[], object], failed: str) -> None:
        self.every_s, self.work, self.failed = every_s, work, failed
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.work()
            except Exception as exc:  # the database away for a while: next round
                log.warning("%s: %s", self.failed, type(exc).__name__)
            self._stop.wait(self.every_s)
