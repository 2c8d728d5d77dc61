"""The one error a bad setting or rule file raises, in the words the operator reads."""


class ConfigError(ValueError):
    """A setting is missing or wrong; the message names the key and quotes the value."""
