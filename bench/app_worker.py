"""The real DtleApp, headless (`App.run_test(size=(200, 50))`), in a process of its own.

Started by the benchmark with the simulator's addresses. It measures, in this process only (the simulator
runs in the parent, so its CPU is not counted here):

- cpu: CPU time (every thread: the UI loop and the poller's loop) per poll cycle. A cycle is caused by
  the parent changing one allocation in the frozen simulator, which makes the blocking queries on
  /v1/jobs and /v1/allocations answer with the whole list: fetch + JSON decode + parse + derive rows +
  table diff + render. The idle CPU rate measured just before is subtracted for the cycle's wall time.
- decode (Nomad 0.11): cursor keys pressed while the poller decodes a re-read list after a change: key
  press to the frame that shows the moved cursor, for the keys whose handling overlapped a decode.
- latency: key press to the first rendered frame showing the change (cursor move, a filter keystroke,
  opening Job detail): the key is posted as an event at perf_counter t0, and the frame is the first
  compositor update during which the change is visible in the widgets (see Frames). Then again while
  every answer takes 10 s (the parent sets the simulator's latency; a ctrl+r is in flight).

Protocol with the parent: JSON lines on stdout; a line {"need": ...} waits for one line on stdin.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import json
import os
import sys
import time
from typing import Any, Callable, List, Optional

from textual import events

from bench.patience import patient
from dtle_tui.app import DtleApp
from dtle_tui.config.settings import load_settings
from dtle_tui.textual_private import spy_on_paints


def emit(obj: dict) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def ask(need: str, **extra: Any) -> str:
    emit({"need": need, **extra})
    return sys.stdin.readline().strip()


def peak_rss_mb() -> float:
    """VmHWM of this process image. Not ru_maxrss: Linux carries that over fork+exec from the parent,
    which here holds a 5,000-job simulator."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


async def wait_until(pilot, condition: Callable[[], bool], timeout: float, step: float = 0.002) -> bool:
    deadline = time.perf_counter() + timeout
    while not condition():
        if time.perf_counter() > deadline:
            return False
        await asyncio.sleep(step)
    return True


class GcClock:
    """Time spent in the cyclic garbage collector (all generations), for the diagnosis of CPU figures."""

    def __init__(self) -> None:
        self.total = 0.0
        self.collections = 0
        self._start = 0.0
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._start = time.perf_counter()
        else:
            self.total += time.perf_counter() - self._start
            self.collections += 1


GC = GcClock()


def generation(app: DtleApp) -> int:
    return app.snapshot.generation if app.snapshot is not None else -1


def lists_reread(app: DtleApp, since: float) -> bool:
    """Without the event stream (Nomad 0.11) a change makes every list feed answer again: all of them have
    answered since `since` (wall time). With the stream live the lists rest: nothing to wait for."""
    poller = app.poller
    if poller.events is not None and poller.events.state == "live":
        return True
    return all((f.state.ok_at or 0) >= since for f in poller.list_feeds() if f.name in ("jobs", "allocations"))


def refreshed(app: DtleApp, gen0: int, since: float) -> bool:
    """The change is painted: a snapshot newer than `gen0`, built after every list it re-read arrived."""
    return generation(app) > gen0 and lists_reread(app, since) and app.poller._dirty is False


def table(app: DtleApp):
    return app.screen.query_one("#jobs-table")


async def settle(app: DtleApp, pilot, quiet: float = 0.5, timeout: float = 30.0) -> None:
    """Until no new snapshot arrived for `quiet` seconds."""
    deadline = time.perf_counter() + timeout
    last, since = generation(app), time.perf_counter()
    while time.perf_counter() < deadline:
        await asyncio.sleep(0.05)
        now_gen = generation(app)
        if now_gen != last:
            last, since = now_gen, time.perf_counter()
        elif time.perf_counter() - since >= quiet:
            break
    await pilot.pause()


async def measure_cpu(app: DtleApp, pilot, args) -> None:
    # idle CPU rate (timers, the status line's clock) to subtract from each cycle
    await settle(app, pilot, quiet=1.0)
    c0, w0 = time.process_time(), time.perf_counter()
    await asyncio.sleep(args.idle_sample)
    idle_rate = (time.process_time() - c0) / (time.perf_counter() - w0)
    profiles: List[cProfile.Profile] = []
    if args.profile:
        main_prof, poll_prof = cProfile.Profile(), cProfile.Profile()
        profiles = [main_prof, poll_prof]
        app.poller.call_soon(poll_prof.enable)  # cProfile profiles only the thread that enables it
        main_prof.enable()
    samples, snaps, walls = [], [], []
    gc0 = GC.total
    for _ in range(args.refreshes):
        gen0, since = generation(app), time.time()
        c0, w0 = time.process_time(), time.perf_counter()
        ask("change")
        done = lambda gen0=gen0, since=since: refreshed(app, gen0, since)  # noqa: E731
        if not await wait_until(pilot, done, timeout=patient(args.timeout)):
            emit({"error": "no snapshot after a change in the simulator"})
            break
        await settle(app, pilot, quiet=0.3)
        wall = time.perf_counter() - w0 - 0.3  # settle's quiet window is not part of the cycle
        cpu = time.process_time() - c0 - idle_rate * (time.perf_counter() - w0)
        samples.append(cpu)
        walls.append(wall)
        snaps.append(generation(app) - gen0)
    if profiles:
        profiles[0].disable()
        app.poller.call_soon(profiles[1].disable)
        await asyncio.sleep(0.2)
        for name, prof in zip(("ui", "poller"), profiles):
            prof.dump_stats(f"{args.profile}.{name}.prof")
    emit(
        {
            "result": "cpu",
            "gc_s": (GC.total - gc0) / max(1, len(samples)),
            "cpu_s": samples,
            "wall_s": walls,
            "snapshots": snaps,
            "idle_cpu_rate": idle_rate,
            "rows": table(app).row_count,
            "rss_mb": rss_mb(),
            "peak_rss_mb": peak_rss_mb(),
        }
    )


class Frames:
    """Every frame the compositor renders (headless: rendered, then not written), with a condition's value.

    Wraps `App._display` (private; the harness only): the first frame where the condition holds is the
    paint that shows the change. Pilot's own `press` waits for CPU idle in 20 ms steps, which would
    dominate the figure, so keys are posted as events instead.
    """

    def __init__(self, app: DtleApp) -> None:
        self.app = app
        self.condition: Optional[Callable[[], bool]] = None
        self.hit: Optional[float] = None
        self._display = spy_on_paints(app, self._spy)

    def _spy(self, screen, renderable) -> None:
        self._display(screen, renderable)
        if renderable is not None and self.condition is not None and self.hit is None:
            try:
                if self.condition():
                    self.hit = time.perf_counter()
            except Exception:  # the screen is between states
                pass

    async def key_to_paint(
        self, key: str, char: Optional[str], condition: Callable[[], bool], timeout: float = 10.0
    ) -> Optional[float]:
        self.condition, self.hit = condition, None
        t0 = time.perf_counter()
        self.app.post_message(events.Key(key, char))
        deadline = t0 + patient(timeout)
        while self.hit is None and time.perf_counter() < deadline:
            await asyncio.sleep(0.0005)
        self.condition = None
        return None if self.hit is None else self.hit - t0


async def latency_round(app: DtleApp, pilot, frames: Frames, args, label: str) -> dict:
    from dtle_tui.screens.job_detail import JobDetailScreen

    out: dict = {"cursor": [], "filter": [], "detail": []}
    for _ in range(args.presses):
        t = table(app)
        before = t.cursor_row
        target = before + 1 if before + 1 < t.row_count else before - 1
        key = "down" if target > before else "up"
        out["cursor"].append(
            await frames.key_to_paint(key, None, lambda target=target: table(app).cursor_row == target)
        )
        await pilot.pause()
    # filter: open the box, then time one keystroke until the table shows only the matching rows
    for i in range(args.presses):
        await pilot.press("slash")
        await pilot.pause()
        needle = args.filter_chars[i % len(args.filter_chars)]
        screen = app.screen
        expected = sum(1 for r in app.snapshot.rows if needle in r.id.lower())
        out["filter"].append(
            await frames.key_to_paint(
                needle,
                needle,
                lambda screen=screen, needle=needle, expected=expected: (
                    screen.filter_text == needle and table(app).row_count == expected
                ),
            )
        )
        await pilot.press("escape")  # leave the input
        await pilot.press("escape")  # clear the filter
        await wait_until(pilot, lambda: table(app).row_count == len(app.snapshot.rows), 10)
        await pilot.pause()
    for _ in range(args.presses):
        base = app.screen
        out["detail"].append(await frames.key_to_paint("enter", "\r", lambda: isinstance(app.screen, JobDetailScreen)))
        await pilot.pause()
        await pilot.press("escape")
        await wait_until(pilot, lambda base=base: app.screen is base, 10)
        await pilot.pause()
    return {"result": "latency", "label": label, **out}


class DecodeWatch:
    """When the poller is decoding a list answer: from its first chunk to the end of the list (poller
    thread). On Nomad 0.11 a change re-reads /v1/jobs and /v1/allocations whole, decoded element by
    element as the bytes arrive (api/jsonlist.py): wraps ListDecoder.feed and .close, on the class."""

    def __init__(self) -> None:
        self.spans: List[List[float]] = []  # [first chunk, list closed] per answer, perf_counter
        from dtle_tui.api.jsonlist import ListDecoder

        feed, close = ListDecoder.feed, ListDecoder.close
        watch = self

        def watched_feed(decoder: Any, chunk: bytes) -> None:
            if not hasattr(decoder, "_bench_span"):
                decoder._bench_span = [time.perf_counter(), float("inf")]
                watch.spans.append(decoder._bench_span)
            feed(decoder, chunk)

        def watched_close(decoder: Any) -> Any:
            try:
                return close(decoder)
            finally:
                span = getattr(decoder, "_bench_span", None)
                if span is not None:
                    span[1] = time.perf_counter()

        ListDecoder.feed, ListDecoder.close = watched_feed, watched_close  # type: ignore[method-assign]

    def during(self, pressed: float, painted: float) -> bool:
        """The key was being handled (pressed, not yet painted) while an answer was read and decoded."""
        return any(start <= painted and pressed <= end for start, end in self.spans)


async def measure_decode_keys(app: DtleApp, pilot, frames: Frames, watch: DecodeWatch, args) -> None:
    """Keys while a list decode is under way: cursor keys one after the other (a few ms apart) from before
    each change in the simulator until the new snapshot is painted; only the keys whose handling (press to
    paint) overlapped the reading and decoding of an answer count."""
    during: List[float] = []
    others: List[float] = []
    decode_s: List[float] = []
    loop = asyncio.get_running_loop()

    async def press_until(done: Callable[[], bool], deadline: float) -> None:
        while not done() and time.perf_counter() < deadline:
            t = table(app)
            before = t.cursor_row
            target = before + 1 if before + 1 < t.row_count else before - 1
            key = "down" if target > before else "up"
            pressed = time.perf_counter()
            took = await frames.key_to_paint(key, None, lambda target=target: table(app).cursor_row == target)
            if took is not None:
                (during if watch.during(pressed, pressed + took) else others).append(took)
            await asyncio.sleep(0.002)

    # A small cluster's lists decode in a few ms: a key rarely lands inside. More changes then, up to a cap.
    cycles = 0
    while cycles < args.refreshes or (len(during) < args.presses and cycles < 10 * max(args.refreshes, 3)):
        cycles += 1
        await settle(app, pilot, quiet=0.5)
        gen0, first_span, since = generation(app), len(watch.spans), time.time()
        asked = loop.run_in_executor(None, ask, "change")  # the keys go on while the parent changes
        await press_until(lambda asked=asked, gen0=gen0, since=since: asked.done() and refreshed(app, gen0, since),
                          time.perf_counter() + patient(args.timeout))
        await asked
        decode_s.extend(end - start for start, end in watch.spans[first_span:] if end != float("inf"))
    emit({"result": "decode", "during": during, "others": others, "decode_s": decode_s,
          "peak_rss_mb": peak_rss_mb()})


async def main_async(args) -> None:
    env = dict(os.environ)
    settings = load_settings(["--nomad-addr", args.nomad_addr, "--consul-addr", args.consul_addr], env)
    watch = DecodeWatch() if "decode" in args.modes else None
    app = DtleApp(settings)
    t0 = time.perf_counter()
    async with app.run_test(size=(200, 50)) as pilot:
        ok = await wait_until(
            pilot,
            lambda: app.snapshot is not None and app.screen.id != "_default" and _rows(app) >= args.expect_rows,
            timeout=patient(args.timeout),
            step=0.01,
        )
        if not ok:
            emit({"error": f"the table never showed {args.expect_rows} rows (has {_rows(app)})"})
            return
        await settle(app, pilot)
        emit({"loaded_s": time.perf_counter() - t0, "rows": _rows(app), "rss_mb": rss_mb()})
        if "cpu" in args.modes:
            await measure_cpu(app, pilot, args)
        frames = Frames(app)
        if watch is not None:
            await measure_decode_keys(app, pilot, frames, watch, args)
        if "latency" in args.modes:
            prof = cProfile.Profile() if args.profile else None
            if prof:
                prof.enable()
            emit(await latency_round(app, pilot, frames, args, "normal"))
            if prof:
                prof.disable()
                prof.dump_stats(f"{args.profile}.latency.ui.prof")
            ask("slow")  # the parent makes every answer take args.slow seconds
            await pilot.press("ctrl+r")  # a refresh is now in flight and slow
            await asyncio.sleep(0.2)
            emit(await latency_round(app, pilot, frames, args, "slow"))
            ask("fast")
        await pilot.press("q")


def _rows(app: DtleApp) -> int:
    try:
        return table(app).row_count
    except Exception:  # not mounted yet
        return -1


def main(argv: Optional[list] = None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--nomad-addr", required=True)
    p.add_argument("--consul-addr", required=True)
    p.add_argument("--expect-rows", type=int, required=True)
    p.add_argument("--modes", default="cpu,latency")
    p.add_argument("--refreshes", type=int, default=5)
    p.add_argument("--presses", type=int, default=5)
    p.add_argument("--idle-sample", type=float, default=2.0)
    p.add_argument("--timeout", type=float, default=120.0)
    p.add_argument("--filter-chars", default="7319")
    p.add_argument("--profile", default="")
    args = p.parse_args(argv)
    asyncio.run(main_async(args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
