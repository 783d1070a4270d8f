"""What a person can do with the engine, without click or a web framework.

Every service function takes the process's :class:`claims.services.context.Services` first,
then the ``claims.models.Actor`` it acts for, owns its unit of work
(``claims.store.db.unit_of_work``) and raises the typed errors of ``claims.errors``. The
command line (``claims.cli``) and the web console call these; nothing here prints.

- ``context``: settings, the store's sessions (migrated once), the Temporal client (lazily).
- ``errors``: ``Refused``, an input refusal whose message already names its field.
- ``intake``: report a claim, import a batch of reports.
- ``steps``: perform a typed step on a claim (``client.attempt_step``).
- ``views``: a claim's state, the inbox, the overdue list (the reader's scope in SQL).
- ``reports``: the SLA report.
- ``calendar``: when a target falls due, a year's special days (no server needed).
- ``calendar_admin``: load a holiday schedule (supervisors), tell open claims.
- ``register``: load the policy register.
- ``reconcile``: claims recorded on one side only (store or Temporal).
- ``client``, ``demo``: the Temporal client operations and the demo driver.
"""
