"""Consolidation: worthiness scoring, the self-trigger, adapter training, the adapter registry."""
