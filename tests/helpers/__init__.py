"""What the tests share, in one package: `wait` (the one wait-until helper), `pilot` (driving the app),
`screen` (reading what the operator sees), `sim` (the simulator: what it says, faults, troubleshooting),
`paths`. The fixtures live in tests/conftest.py; a command on a pseudo-terminal runs through
bench/ptyrun.py (`run_on_pty`), shared with the benchmark."""
