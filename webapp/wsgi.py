"""The WSGI entry point for servers: gunicorn 'webapp.wsgi:app' (deploy/hourbook.service).

The app is built once per worker process. Then what start-up made (the app, its blueprints,
templates, translations, SQLAlchemy's mappers: about 190,000 objects) is moved out of the
garbage collector's sight with gc.freeze(): a full collection no longer walks it every time,
which took up to a few hundred milliseconds and stalled every request of the worker
(bench/README.md, session 5). Those objects live as long as the process anyway.
"""
import gc

from . import create_app

app = create_app()
gc.collect()
gc.freeze()
