"""Config files; one may start from another (`from configs import add_exact`)."""
