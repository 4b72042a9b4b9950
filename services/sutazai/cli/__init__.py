"""The `sutazai` command line."""
