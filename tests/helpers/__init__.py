"""What the tests share, in one package: `wait` (the one wait-until helper), `pilot` (driving the app),
`screen` (reading what the operator sees), `sim` (the simulator: what it says, faults, troubleshooting),
`paths`, and `ptyrun` (a command on a pseudo-terminal, shared with bench/). The fixtures live in
tests/conftest.py."""
