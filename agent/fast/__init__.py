"""The fast tier: a multimodal policy with one LoRA adapter per skill category, its trunk,
gate and adapter registry, and the executors that act for subgoals (fast tier, retrieval)."""
