"""Self-evolution: `peam loop` (play, label, consolidate, gate, publish, evaluate, N rounds)
and the evaluation gate that keeps a round from making the fast tier worse."""
