"""Job types and the functions that do them. Domains register their handlers here."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from vesalius.context import AppContext
    from vesalius.jobs.runner import RunningJob

Handler = Callable[["AppContext", "RunningJob"], dict[str, Any] | None]
FailureHook = Callable[["AppContext", dict[str, Any], str], None]
RetryHook = Callable[["Session", dict[str, Any]], None]


@dataclass(frozen=True)
class JobType:
    name: str
    queue: str
    handler: Handler
    on_failure: FailureHook | None = None
    on_retry: RetryHook | None = None


_TYPES: dict[str, JobType] = {}


def job_handler(
    name: str,
    *,
    queue: str,
    on_failure: FailureHook | None = None,
    on_retry: RetryHook | None = None,
) -> Callable[[Handler], Handler]:
    """Register ``fn(ctx, job) -> result`` as the handler of job type ``name``.

    Handlers must be idempotent: a job can run twice when its first worker was declared
    dead. Raise ``PermanentJobError`` for failures a retry cannot fix. ``on_failure(ctx,
    input, error)`` runs once when the job has finally failed; ``on_retry(session, input)``
    runs inside the transaction in which an administrator queues a failed job again (to undo
    what ``on_failure`` did).
    """

    def register(fn: Handler) -> Handler:
        _TYPES[name] = JobType(
            name=name, queue=queue, handler=fn, on_failure=on_failure, on_retry=on_retry
        )
        return fn

    return register


def job_type(name: str) -> JobType:
    load_handlers()
    return _TYPES[name]


def load_handlers() -> None:
    """Import every module that registers handlers (workers run none of the API code)."""
    import vesalius.imaging.tasks  # noqa: F401
