"""The agent: its slow tier (slow/), fast tier (fast/), the episode loop (loop/), the
comparison (compare/), and the `peam` command (cli.py)."""
