"""The console's routers, one module per screen group; ``claims.web.app.create_app`` includes
every module here that has a module-level ``router`` (``APIRouter``).

- ``auth``: ``/login``, ``/logout``, ``/lang`` (the language switch).
"""
