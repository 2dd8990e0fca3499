import gc
import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

# What start-up loads (Django, the apps, every view through the URLconf) lives as long as the process. Frozen
# out of the garbage collector's view, a full collection walks only what requests create: in-process
# (bench/reader_hot_path.py) full collections had cost about 0.5 ms of CPU per request on average, landing on
# whichever request triggered them (issue 22).
get_resolver().url_patterns  # noqa: B018 (imports every view now, so they are frozen too)
gc.collect()
gc.freeze()
