"""`make screenshots`: an SVG of each screen, from the frozen simulator, into screenshots/."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests import scenes

OUT = Path(__file__).resolve().parent.parent / "screenshots"
SIZE = (100, 30)


async def shoot(sim, name: str) -> Path:
    app = scenes.make_app(sim)
    async with app.run_test(size=SIZE) as pilot:
        await scenes.SCENES[name](pilot)
        return Path(app.save_screenshot(filename=f"{name}.svg", path=str(OUT)))


def main() -> int:
    scenes.pin_environment()
    OUT.mkdir(exist_ok=True)
    sim = scenes.start_frozen_sim()
    try:
        for name in scenes.SCENES:
            print(asyncio.run(shoot(sim, name)).relative_to(OUT.parent))
    finally:
        sim.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
