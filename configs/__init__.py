"""Config files; one may build on another: `from configs import add_exact`."""
