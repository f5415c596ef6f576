"""Typed views of what Nomad and Consul answer (both Nomad dialects), stage and Gtid logic.

Pure functions and frozen dataclasses: no I/O, no threads, nothing of Textual.
"""
