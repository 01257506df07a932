"""Families of the kmsg collector."""

from __future__ import annotations
