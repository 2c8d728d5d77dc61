"""The database: engines and migrations, the tables as Alembic made them, and where SQLite and
PostgreSQL differ for writers (dialect.py, and pgcopy.py for PostgreSQL's COPY)."""
