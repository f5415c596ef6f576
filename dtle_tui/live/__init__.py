"""The live picture: the poller thread, its feeds, the store it keeps and the snapshots it publishes.
"""
