"""Settings: one typed object, loaded once from config.toml, loud when wrong."""
