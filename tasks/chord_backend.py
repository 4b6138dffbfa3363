"""Workers' Redis result backend: a chunk's chord report is retried while Redis is away, like its result.

Celery retries storing a task's result (`result_backend_always_retry`) but not the chord report that
follows it (`on_chord_part_return`). When Redis restarts at that moment the report raises a connection
error, Celery marks the hashed chunk FAILURE, and that FAILURE, reported once Redis is back, is what the
chord counts for the chunk: a re-run's success is then ignored (Celery keeps the first report per task)
and the merge fails with "Dependency ... raised ConnectionError" (seen in the AOF restart test, about one
run in eight). Retrying the report is safe: Celery's report script records a task once per id and
header index, so a report whose reply was lost and is sent again is not counted twice.

A finished chunk also reports to its chord *before* its result is stored, the reverse of Celery's order.
When a pool process dies between the two steps (SIGKILL, OOM), Celery's worker looks at the stored state:
with a SUCCESS stored it acknowledges the chunk and does not run it again, so a chunk whose process died
after storing and before reporting was never counted, the chord never completed and the merge was never
sent (bench/soak.py's random kills hit that moment; the job then waited for the producer's
stall re-send, over an hour with the default visibility timeout). In this order a death after the
report leaves no SUCCESS: the chunk is run again, and its second report is not counted twice.
"""

from __future__ import annotations

from celery import states
from celery.backends.base import _is_request_ignore_result
from celery.backends.redis import RedisBackend
from celery.utils.time import get_exponential_backoff_interval


class ChordRetryingRedisBackend(RedisBackend):
    def mark_as_done(self, task_id, result, request=None, store_result=True, state=states.SUCCESS):
        """Report to the chord, then store the result (Celery does it the other way round; see above)."""
        if request and request.chord:
            self.on_chord_part_return(request, state, result)
        if store_result and not _is_request_ignore_result(request):
            self.store_result(task_id, result, state, request=request)

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
