"""Settings: flags > environment (NOMAD_*, CONSUL_*, DTLE_*) > config-file context > defaults.

Imports nothing of dtle_tui above it; the TLS files are checked where the CLI validates settings.
"""
