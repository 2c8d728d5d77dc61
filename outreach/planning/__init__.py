"""Planning: care plans become reminder rows, idempotently, on SQLite and on PostgreSQL."""
