"""The one error a user can act on: a config value that cannot work."""


class ConfigError(ValueError):
  """A config value that cannot work; the message names the field."""
