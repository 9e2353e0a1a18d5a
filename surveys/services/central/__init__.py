"""ODK Central's writes on MTM Collect: review states and comments (review.py), through the review service."""
