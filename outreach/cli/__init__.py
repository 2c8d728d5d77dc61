"""The `outreach` command: one module per command group, each command's docstring its help."""
