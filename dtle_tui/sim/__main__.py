"""`python -m dtle_tui.sim`: serve the simulated cluster until Ctrl-C (flip faults with curl on /_sim/faults)."""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from . import SimCluster


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dtle_tui.sim", description=__doc__)
    parser.add_argument("--nomad-port", type=int, default=4646)
    parser.add_argument("--consul-port", type=int, default=8500)
    parser.add_argument("--dialect", default="1.1", choices=["0.11", "0.11.1", "1.1", "1.1.2"])
    parser.add_argument("--jobs", type=int, default=None, help="N generated jobs instead of the story")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every request")
    parser.add_argument("--error-rate", type=float, default=0.0, help="chance (0..1) of a 500 answer")
    parser.add_argument("--acl-token", default=None, help="require this X-Nomad-Token (a UUID)")
    parser.add_argument("--acl-read-token", default=None,
                        help="also accept this token with a namespace read policy (no node:read, no agent:read)")
    parser.add_argument("--acl-write-token", default=None,
                        help="also accept this token with a namespace write policy (no node or agent rules)")
    parser.add_argument("--consul-token", default=None, help="require this X-Consul-Token")
    parser.add_argument("--html-errors", action="store_true", help="answer everything with a proxy's 502 page")
    parser.add_argument("--frozen", action="store_true", help="fixed clock, nothing moves")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--troubles", action="store_true",
                        help="the demo's story too: a job not placed behind a draining node (as --demo)")
    args = parser.parse_args(argv)
    sim = SimCluster(dialect=args.dialect, jobs=args.jobs, seed=args.seed, frozen=args.frozen, troubles=args.troubles,
                     acl_token=args.acl_token, consul_token=args.consul_token,
                     acl_tokens={token: kind for token, kind in ((args.acl_read_token, "read"),
                                                                 (args.acl_write_token, "write")) if token})
    for faults in (sim.nomad_faults, sim.consul_faults):
        faults.latency = args.latency
        faults.error_rate = args.error_rate
        faults.html = args.html_errors
    sim.start(args.nomad_port, args.consul_port)
    print(f"NOMAD_ADDR={sim.nomad_addr}")
    print(f"CONSUL_HTTP_ADDR={sim.consul_addr}")
    for api in sim.dtle_apis.nodes:
        if api.dtle.port:  # dtle's API of each node that is up (dtle-tui --dtle-api nodes finds them itself)
            print(f"dtle API of {api.node.name}: {api.dtle.addr}")
    print(f"faults: curl -s -XPUT -d '{{\"latency\": 0.5}}' {sim.nomad_addr}/_sim/faults", flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    # Ctrl-C (or kill -INT) ends it even when started in the background of a non-interactive shell, which
    # starts it with SIGINT ignored: Python then raises no KeyboardInterrupt.
    signal.signal(signal.SIGINT, lambda *_: done.set())
    try:
        while not done.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
