"""Workers' Redis result backend: a chunk's chord report is retried while Redis is away, like its result.

Celery retries storing a task's result (`result_backend_always_retry`) but not the chord report that
follows it (`on_chord_part_return`). When Redis restarts at that moment the report raises a connection
error, Celery marks the hashed chunk FAILURE, and that FAILURE, reported once Redis is back, is what the
chord counts for the chunk: a re-run's success is then ignored (Celery keeps the first report per task)
and the merge fails with "Dependency ... raised ConnectionError" (seen in the AOF restart test, about one
run in eight). Retrying the report is safe: Celery's report script records a task once per id and
header index, so a report whose reply was lost and is sent again is not counted twice.
"""

from __future__ import annotations

from celery.backends.redis import RedisBackend
from celery.utils.time import get_exponential_backoff_interval


class ChordRetryingRedisBackend(RedisBackend):
    def on_chord_part_return(self, request, state, result, **kwargs):
        retries = 0
        while True:
            try:
                return super().on_chord_part_return(request, state, result, **kwargs)
            except Exception as exc:
                if not (self.always_retry and self.exception_safe_to_retry(exc)) or retries >= self.max_retries:
                    raise
                retries += 1
                self._sleep(get_exponential_backoff_interval(
                    self.base_sleep_between_retries_ms, retries, self.max_sleep_between_retries_ms, True) / 1000)


def backend_setting(url: str, backend: type = ChordRetryingRedisBackend) -> str:
    """The result_backend setting that makes Celery use `backend` (a RedisBackend) for the redis(s) `url`."""
    return f"{backend.__module__}:{backend.__qualname__}+{url}"
