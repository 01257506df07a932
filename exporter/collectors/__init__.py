"""Importing this package registers every collector (one module each)."""
