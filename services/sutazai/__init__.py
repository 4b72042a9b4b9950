"""SutazAI: an air-gapped AI reasoning platform."""

__version__ = "0.1.0"
