"""The internal web UI: static pages that talk to the services' own APIs, and the sign-in that
turns an API key into an HttpOnly session cookie."""
