"""Metacognition service (prefix /api/metacognition): Confidence assessments, calibration, monitors and alerts, improvement proposals."""
