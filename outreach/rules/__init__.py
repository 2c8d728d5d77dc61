"""Pure rules: what a plan says, whether a text may go, what a reply means. No I/O.

Nothing here reads a database, a socket or a clock of its own: the callers gather the facts, these
modules decide, and their tests need no fixtures. The layer check (scripts/check) holds
them to it.
"""
