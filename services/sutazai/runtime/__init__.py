"""The embedded runtime: backends from wheels and every service in one process (`make up`)."""
