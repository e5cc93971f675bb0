class ConfigError(ValueError):
  """The one error a user can act on: its message names the bad value."""
