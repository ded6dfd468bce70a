"""The slow tier: planners (offline recipes, an LLM on any OpenAI-compatible endpoint) that
turn tasks into subgoals and correct failures, and controllers that carry subgoals out."""
