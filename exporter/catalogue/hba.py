"""Families of the hba collector."""

from __future__ import annotations
