"""Authored differentials and code lists of the national profiles (read by scripts/generate_profiles.py)."""
