"""The web console: a server-rendered FastAPI + Jinja2 + htmx application over
``claims.services`` (never the store or Temporal directly), started by ``claims web``.

One job: people's screens in the browser. Modules:

- ``app``: ``create_app(services)``: middlewares, ``/static``, the routers, ``GET /``.
- ``deps``: ``current_actor`` (from the session, the account read on every request),
  ``get_services``.
- ``security``: session cookie, CSRF, security headers.
- ``templating``: ``render(request, name, **context)`` with the actor, CSRF token and ``_``.
- ``i18n``: Babel catalogs (zh_CN default, en), translation of typed errors by code.
- ``routes``: one router per screen group (``auth``: login, logout, language).

Sits at the command line's level: it may import the services and below, never ``claims.cli``.
"""
