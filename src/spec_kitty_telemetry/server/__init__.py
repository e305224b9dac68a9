"""The team server: one PostgreSQL for many repositories' events, an HTTP API over it, sync.

Kept free of imports: the web framework and the database driver are optional
(the ``server`` extra) and loaded only by the modules that need them.
"""
