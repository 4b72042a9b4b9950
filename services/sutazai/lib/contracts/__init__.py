"""What services say to each other, typed in one place: each service's events (and, as they move
here, its request and response models and paths)."""
