"""dtle-tui: a terminal console for dtle 3.x jobs running on Nomad, with progress kept in Consul."""

__version__ = "0.1.0"
