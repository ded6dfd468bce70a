"""`peam compare`: build every agent's memory from one run, play them on held-out seeds,
and report success, forgetting, cost and memory side by side."""
