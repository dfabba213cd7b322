"""`python -m connectors.sim`: run the plant-systems simulator on its own."""

from __future__ import annotations

import argparse
from pathlib import Path

import uvicorn

from connectors.sim.app import create_app
from connectors.sim.store import SimStore


def main() -> None:
    parser = argparse.ArgumentParser(description="changeflow plant-systems simulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument("--db", type=Path, default=Path(".changeflow/sim.db"))
    parser.add_argument("--reset", action="store_true", help="wipe and reseed")
    parser.add_argument(
        "--dataset",
        default="demo",
        help="seed when empty: demo, large (300k parts) or a number of parts",
    )
    parser.add_argument(
        "--units-every",
        type=float,
        default=None,
        help="every so many seconds each plant's MES completes a unit (traceability)",
    )
    args = parser.parse_args()
    if args.reset:
        SimStore(args.db).reset()
    uvicorn.run(
        create_app(args.db, seed=args.dataset, units_every=args.units_every),
        host=args.host,
        port=args.port,
        log_level="warning",
    )


if __name__ == "__main__":
    main()
