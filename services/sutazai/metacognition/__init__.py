"""Metacognition service (prefix /api/metacognition): confidence assessments, calibration,
monitors and alerts, improvement proposals."""
