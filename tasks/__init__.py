"""Everything that runs on workers: `celery -A tasks worker` finds the app here (as `tasks.celery`)."""

# ruff: noqa: I001  (order matters: the bootstrap sets the OpenCV pixel limit before anything imports cv2)
from worker import bootstrap as _bootstrap  # noqa: F401
from tasks import chunk, merge  # noqa: F401  (define the tasks)


def __getattr__(name: str):
    """Build the app from HASHFLEET_* on first use. Celery's `-A tasks` looks up `tasks.celery` (`tasks.app`
    is the module that builds it); a bad setting then stops the worker at start with its message, while
    the CLI, which imports tasks modules too, reports it as one line."""
    if name == "celery":
        from tasks.app import create_app

        app = globals()["celery"] = create_app()
        return app
    raise AttributeError(f"module 'tasks' has no attribute {name!r}")
