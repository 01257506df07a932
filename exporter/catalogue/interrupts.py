"""Families of the interrupts collector."""

from __future__ import annotations
