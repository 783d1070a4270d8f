"""The ``claims`` command line, one module per command group; ``starter.py`` assembles them.

Presentation only: parse options and files, call ``claims.services``, print with
``claims.cli.render``, translate typed errors into messages and exit codes (0 done, 1 refused
or failed, 2 bad input or usage, 3 no answer in time).
"""
