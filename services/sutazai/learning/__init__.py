"""Learning service (prefix /api/learning): Feedback, evaluation suites and runs, model registry, routing policy, exemplars."""
