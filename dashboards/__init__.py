"""Grafana dashboard generator and Prometheus rules (rules/) for fctarget-exporter."""
