"""Issue 24, requirement 6: a snapshot, a worker's result or a message that arrives before the first screen
or after the last never crashes the app. Each is made to arrive then, on purpose, not left to timing.

After the last screen: the crash issue 24 found came at start-up with a malformed token and Consul down:
the test was over within a second, and the poller's answer arrived while the app was shutting down.
Textual shuts an app down mode by mode, clearing the current mode's screen stack before it removes the
screens of the other modes. A widget mounted on the Nodes screen (another mode than the current one,
Jobs) therefore unmounts while the current mode has no screen left and the app still handles its
messages: its `on_unmount` is where these tests make things arrive.

Before the first screen: Textual puts the first screen on the stack before the app handles any message,
so the earliest a snapshot can arrive is before that screen has mounted its widgets: queued before the
app runs (here), or handed over by the CLI's early poller in the app's on_mount (tests/e2e/test_cli.py,
test_the_poller_started_before_textual_hands_its_snapshot_to_the_app).
"""

from __future__ import annotations

from typing import Awaitable, Callable

from textual.widget import Widget
from textual.worker import WorkerState

from dtle_tui.app import DtleApp, SnapshotUpdated
from dtle_tui.live.poller import Poller
from dtle_tui.screens.confirm import ConfirmScreen
from dtle_tui.screens.jobs import JobsScreen
from dtle_tui.screens.nodes import NodesScreen
from dtle_tui.widgets.steady_footer import SteadyFooter
from tests.helpers.pilot import loaded, select_job, settled
from tests.helpers.screen import footer_labels, jobs_table, notifications, row_keys
from tests.helpers.sim import dead_port
from tests.helpers.wait import until


class AtShutdown(Widget):
    """Runs `arrive()` from its unmount, i.e. while the app is shutting down (see the module's docstring).
    The app's own message loop may be waiting for this very removal: `arrive` posts, it does not wait for
    the app to handle what it posted (a worker of its own may be waited for)."""

    def __init__(self, arrive: Callable[[], Awaitable[None]]) -> None:
        super().__init__()
        self.arrive = arrive
        self.arrived = False

    async def on_unmount(self) -> None:
        await self.arrive()
        self.arrived = True


async def after_the_last_screen(pilot, arrive: Callable[[], Awaitable[None]]) -> AtShutdown:
    """Mount an AtShutdown on the Nodes screen and come back to Jobs: `arrive` runs once the app's current
    mode (jobs) has no screen left, while the app still handles messages."""
    app = pilot.app
    await pilot.press("2")
    await until(pilot, lambda: isinstance(app.screen, NodesScreen), "the Nodes screen")
    probe = AtShutdown(arrive)
    await app.screen.mount(probe)
    await pilot.press("1")
    await until(pilot, lambda: isinstance(app.screen, JobsScreen), "back on Jobs")
    return probe


def recorder(app, seen: list) -> Callable:
    """A run_test message hook: each SnapshotUpdated the app handles, with the screens it had then."""

    def hook(message) -> None:
        if isinstance(message, SnapshotUpdated):
            seen.append(len(app.screen_stack))

    return hook


async def test_a_snapshot_after_the_last_screen_is_dropped(frozen_sim, make_settings):
    app = DtleApp(make_settings(frozen_sim))
    handled: list = []

    async with app.run_test(size=(80, 24), message_hook=recorder(app, handled)) as pilot:
        await loaded(pilot, frozen_sim)
        snapshot = app.snapshot

        async def arrive() -> None:
            assert app.screen_stack == []  # the situation this test is about
            posted.append(app.post_message(SnapshotUpdated(snapshot)))

        posted: list = []
        await after_the_last_screen(pilot, arrive)
    # Handled (the app empties its queue before it ends) with no screen on the stack; run_test re-raises
    # what crashed the app, so getting here means nothing did.
    assert posted == [True] and 0 in handled


async def test_a_snapshot_while_job_detail_is_taken_down_is_not_shown(frozen_sim, make_settings):
    """The screens' widgets are removed one by one at shutdown, while the app waits for that: a snapshot
    posted then is handled once Job detail has lost its widgets, and not shown on it (it found Job detail
    without its summary once)."""
    app = DtleApp(make_settings(frozen_sim))
    handled: list = []

    async with app.run_test(size=(80, 24), message_hook=recorder(app, handled)) as pilot:
        await loaded(pilot, frozen_sim)
        app.open_job("job1")
        await until(pilot, lambda: app.snapshot.detail and app.snapshot.detail.job is not None, "job1's detail")
        snapshot = app.snapshot
        count = len(handled)
        posted: list = []

        async def arrive() -> None:
            posted.append(app.post_message(SnapshotUpdated(snapshot)))

        await app.screen.mount(AtShutdown(arrive))
    assert posted == [True] and len(handled) > count


async def test_a_snapshot_before_the_first_screen_is_shown_by_it(frozen_sim, make_settings):
    """Queued before the app runs, a snapshot is handled before the Jobs screen has mounted its widgets:
    the screen shows it once it has."""
    first = DtleApp(make_settings(frozen_sim))
    async with first.run_test(size=(80, 24)) as pilot:
        expected = await loaded(pilot, frozen_sim)
        snapshot = first.snapshot

    app = DtleApp(make_settings(frozen_sim))
    app.post_message(SnapshotUpdated(snapshot))
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, JobsScreen) and sorted(row_keys(jobs_table(app))) == expected,
                    "the rows on the first screen")


async def test_a_write_whose_result_comes_after_the_last_screen(sim, make_settings):
    """A job action's worker outlives its screen: its answer, held back by a hanging Nomad until the app
    has no screen left, is reported without a crash (and the write was done)."""
    app = DtleApp(make_settings(sim))

    def actions() -> list:
        return [w for w in app.workers if w.group == "writes"]

    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot, sim)
        await select_job(pilot, "job1")
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the delete dialog")
        sim.nomad_faults.hang = True
        await pilot.press("y")
        await until(pilot, lambda: not isinstance(app.screen, ConfirmScreen) and actions(), "the write running")
        write = actions()[0]

        async def arrive() -> None:
            assert app.screen_stack == [] and not write.is_finished
            sim.nomad_faults.hang = False
            await until(None, lambda: write.is_finished, "the write's result")

        probe = await after_the_last_screen(pilot, arrive)
    assert probe.arrived and write.state == WorkerState.SUCCESS
    assert sim.scenario.job("job1")["Stop"] is True
    assert any("stopped" in n for n in notifications(app))


async def test_a_failing_starts_first_answer_after_the_last_screen(make_sim, make_settings):
    """Issue 24's crash, made to happen: a malformed token, Consul down, and the console closed before the
    poller's first answer. That answer (Nomad's refusal of the token) is held back by a hanging Nomad until
    the app has no screen left; the snapshot the poller then posts, the first one that tells of a failure,
    is handled without a crash, with Consul's feeds started after it on a poller being stopped."""
    sim = make_sim(dialect="1.1", seed=1, frozen=True,
                   acl_tokens={"00000000-0000-4000-8000-000000000001": "management"})  # ACLs on: tokens checked
    settings = make_settings(sim, "--consul-addr", f"127.0.0.1:{dead_port()}",
                             env={"NOMAD_TOKEN": "not-a-uuid-at-all"})
    posted: list = []

    def poller_factory(settings, on_snapshot):
        def post(snapshot) -> None:  # on the poller's thread, as the app's own callback
            on_snapshot(snapshot)
            posted.append(snapshot)

        return Poller(settings, post)

    sim.nomad_faults.hang = True
    app = DtleApp(settings, poller_factory=poller_factory)
    handled: list = []
    async with app.run_test(size=(80, 24), message_hook=recorder(app, handled)) as pilot:
        await until(pilot, lambda: sim.requests.in_flight("nomad"), "the first read held by Nomad")
        assert not any(snapshot.nomad.error for snapshot in posted)  # nothing told of the token yet

        async def arrive() -> None:
            assert app.screen_stack == []  # the situation this test is about
            sim.nomad_faults.hang = False
            await until(None, lambda: any(snapshot.nomad.error for snapshot in posted), "the token refused")

        probe = await after_the_last_screen(pilot, arrive)
    assert probe.arrived and 0 in handled
    refused = next(snapshot for snapshot in posted if snapshot.nomad.error)
    assert "acl token lookup failed" in str(refused.nomad.error)


async def test_a_toasts_timer_that_ends_after_the_last_screen(frozen_sim, make_settings):
    """A toast refreshes the footer when its time is up (ctrl+l is offered only while one shows): that
    timer may end while the app quits, with no screen left."""
    app = DtleApp(make_settings(frozen_sim))
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot, frozen_sim)
        fired: list = []

        async def arrive() -> None:
            assert app.screen_stack == []  # the situation this test is about
            app._toast_shown(0.0)  # what the toast's callback does, with its timer
            fired.append(True)

        await after_the_last_screen(pilot, arrive)
    assert fired == [True]




async def test_a_footer_rebuild_while_job_detail_is_taken_down(frozen_sim, make_settings):
    """The footer rebuilds itself a moment after each bindings change, and what it offers on Job detail
    reads the selected allocation: leaving Job detail, that moment can fall while the screen is taken
    down, its tables gone (the benchmark's Job-detail round crashed so). Made to come then, the rebuild
    leaves the footer alone, and the app runs on."""
    app = DtleApp(make_settings(frozen_sim))
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot, frozen_sim)
        app.open_job("job1")
        await until(pilot, lambda: app.snapshot.detail and app.snapshot.detail.job is not None, "job1's detail")
        # The footer as it stays on this screen (the selected running dest's `r`), on a settled cluster: a
        # rebuild of its own after the probe is mounted would unmount the probe before escape (seen loaded).
        await until(pilot, lambda: "Restart" in [label for _, label in footer_labels(app)], "the footer's keys")
        await settled(pilot)
        footer = app.screen.query_one(SteadyFooter)
        allocs = app.screen.query_one("#allocs")
        rebuilt: list = []

        async def arrive() -> None:
            # The screen's widgets leave side by side; the footer waits for this probe, its child, to go.
            await until(None, lambda: not allocs.is_attached, "the allocations table gone")
            assert footer.is_attached  # the moment the benchmark's crash came
            await footer.recompose()
            rebuilt.append(True)

        await footer.mount(AtShutdown(arrive))
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, JobsScreen) and rebuilt, "back on Jobs")
        await pilot.pause(0.3)
        assert app.return_code is None and "Quit" in [label for _, label in footer_labels(app)]
