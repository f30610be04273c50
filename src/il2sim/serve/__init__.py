"""``il2sim serve``: conduct a live dose-finding trial in a web application.

A top layer beside :mod:`il2sim.cli`: it may import any layer below, and nothing below imports
it.  Its heavy dependencies (FastAPI, SQLAlchemy, Alembic, argon2) are imported only when the
server or the ``users`` / ``audit`` commands run; ``import il2sim`` never loads this package.

Modules:

* :mod:`~il2sim.serve.engine`   the ONE adapter into il2sim's design, simulation and SDTM code;
* :mod:`~il2sim.serve.protocol` the trial protocol (validated, canonical JSON, SHA-256);
* :mod:`~il2sim.serve.models`, :mod:`~il2sim.serve.db` the database (SQLAlchemy 2, Alembic);
* :mod:`~il2sim.serve.audit`    the append-only hash-chained audit trail and its verifier;
* :mod:`~il2sim.serve.security` passwords (argon2), sessions, CSRF, login rate limiting;
* :mod:`~il2sim.serve.service`  every state change, authorised and audited in one transaction;
* :mod:`~il2sim.serve.app`, :mod:`~il2sim.serve.api`, :mod:`~il2sim.serve.pages` the web app;
* :mod:`~il2sim.serve.commands` the ``serve``, ``users`` and ``audit`` commands.
"""
