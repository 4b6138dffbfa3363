"""Everything that runs on workers: `celery -A tasks worker` finds the app here."""

from tasks.app import create_app
from worker import bootstrap as _bootstrap  # noqa: F401  (sets OpenCV limits before cv2 is imported)

app = create_app()

from tasks import chunk, merge  # noqa: E402,F401  (register the tasks on the app)
