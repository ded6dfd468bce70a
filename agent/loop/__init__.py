"""Playing episodes: the runner (plan -> attempt -> verify -> correct), vector envs, worker
pools, run folders, and building planner and executors from a run config."""
