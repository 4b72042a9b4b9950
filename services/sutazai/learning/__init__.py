"""Learning service (prefix /api/learning): feedback, evaluation suites and runs, model
registry, routing policy, exemplars."""
