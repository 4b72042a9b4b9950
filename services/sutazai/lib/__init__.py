"""The shared library ("System 0") every SutazAI service builds on."""
