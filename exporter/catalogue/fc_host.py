"""Families of the fc_host collector."""

from __future__ import annotations
