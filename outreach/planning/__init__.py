"""Planning: deciding what care plans make and which plans are due, on SQLite and on
PostgreSQL; the outbox writes the reminder rows it decides on."""
