"""The agent: slow tier (planner + deliberate controller), episode runner and the `peam` CLI."""
