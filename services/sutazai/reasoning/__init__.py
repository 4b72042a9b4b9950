"""Reasoning service: plan, act with tools, synthesize, verify; traces (prefixes
/api/reasoning and /v1)."""
