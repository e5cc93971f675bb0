"""Config files; one may build on another: `from configs import add_exact`.

Each docstring: the command, what to expect, why in brief; the runs behind
each choice are in docs/experiments.md (add_fast.py's: bench/RESULTS.md).
"""
