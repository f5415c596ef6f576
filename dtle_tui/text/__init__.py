"""Text helpers every layer may use: secrets masking, terminal-safe strings, cell formats, the clock.
"""
