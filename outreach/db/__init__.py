"""The database: engines and migrations, and the tables as Alembic made them."""
