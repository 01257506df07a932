"""Families of the lio collector."""

from __future__ import annotations
