"""Turning experience into weights: failure-correction pairs, PW scores, the scale-free
trigger, BC + DPO training of one category's adapter, and the daemon that runs them."""
