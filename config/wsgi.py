import os

from django.core.wsgi import get_wsgi_application

from core.wsgi_input import fast_input

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
_django = get_wsgi_application()


def application(environ, start_response):
    # Large request bodies (uploads, the MLflow artifact proxy) are read straight from the
    # socket under gunicorn instead of 1 KiB at a time (core/wsgi_input.py).
    fast_input(environ)
    return _django(environ, start_response)
