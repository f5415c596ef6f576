"""The terminal side of alerts (notify.py): the OSC 777 / OSC 9 bytes, the bell, tmux, the Alerter."""

from __future__ import annotations

import pytest

from dtle_tui.live.alerts import Alert, AlertGate
from dtle_tui.live.snapshot import AllocCounts, FeedState, JobRow, Snapshot
from dtle_tui.model.stage import Stage
from dtle_tui.notify import Alerter, notification_sequences, osc9, osc777, terminal_safe

ESC, BEL = "\x1b", "\x07"


def test_osc777_and_osc9_are_the_documented_sequences() -> None:
    assert osc777("dtle job a STALLED", "Its Gtid has not moved.") == \
        f"{ESC}]777;notify;dtle job a STALLED;Its Gtid has not moved.{BEL}"
    assert osc9("dtle job a STALLED: moved") == f"{ESC}]9;dtle job a STALLED: moved{BEL}"


def test_wire_text_cannot_end_or_start_a_sequence() -> None:
    hostile = f"job{ESC}]0;pwned{BEL}\x9c\x9b2J\nnext\tline"
    seq = osc777(hostile, hostile)
    body = seq[len(f"{ESC}]777;notify;"):-1]
    assert ESC not in body and BEL not in body and "\x9c" not in body and "\x9b" not in body
    assert "\n" not in body
    assert terminal_safe("a" * 500).endswith("…") and len(terminal_safe("a" * 500)) == 200
    # The title ends at the first ';' of OSC 777: a job ID with one cannot move text into the body.
    assert osc777("job;x", "b").count(";") == 3
    # ConEmu takes `9;<digit>` for its own commands.
    assert osc9("4;1;50").startswith(f"{ESC}]9;dtle: 4;1;50")


def test_bell_only_for_the_alerts_that_ring_and_tmux_passthrough_under_tmux() -> None:
    ring = Alert("stalled", "a", "t", "b", True)
    quiet = Alert("incremental", "a", "t", "b", False)
    plain = notification_sequences(ring, env={})
    assert plain == osc777("t", "b") + osc9("t: b") + BEL
    assert notification_sequences(quiet, env={}) == osc777("t", "b") + osc9("t: b")
    wrapped = notification_sequences(ring, env={"TMUX": "/tmp/tmux-0/default,1,0"})
    # DCS tmux; <sequence with ESC doubled> ST, for each; the bell stays plain for tmux itself.
    assert wrapped == (f"{ESC}Ptmux;{ESC}{ESC}]777;notify;t;b{BEL}{ESC}\\"
                       f"{ESC}Ptmux;{ESC}{ESC}]9;t: b{BEL}{ESC}\\" + BEL)


class FakeTimer:
    def __init__(self, delay, callback) -> None:
        self.delay, self.callback, self.stopped = delay, callback, False

    def stop(self) -> None:
        self.stopped = True


class FakeApp:
    def __init__(self) -> None:
        self.toasts: list = []
        self.timers: list = []

    def notify(self, message, **kwargs) -> None:
        self.toasts.append((message, kwargs.get("severity")))

    def set_timer(self, delay, callback) -> FakeTimer:
        self.timers.append(FakeTimer(delay, callback))
        return self.timers[-1]


def snap(generation: int, *stalled: str, jobs: int = 6) -> Snapshot:
    rows = tuple(JobRow(id=f"j{i}", status="running", stage=Stage.INCREMENTAL, stage_since_ns=1,
                        src=AllocCounts(running=1), dest=AllocCounts(running=1), transactions=1, gtid_text="u:1",
                        binlog=None, rate=0.0, stalled=f"j{i}" in stalled, submit_time_ns=1, stop=False)
                 for i in range(jobs))
    return Snapshot(generation=generation, rows=rows, nomad=FeedState(ok_at=1.0), consul=FeedState(ok_at=1.0))


def test_alerter_writes_toasts_and_holds_a_burst_for_later() -> None:
    app, written, now = FakeApp(), [], [0.0]
    alerter = Alerter(app, write=written.append, env={}, clock=lambda: now[0], gate=AlertGate(3, 30))
    assert alerter.on_snapshot(snap(1)) == []  # start-up
    out = alerter.on_snapshot(snap(2, "j0"))
    assert [a.subject for a in out] == ["j0"]
    assert written == [notification_sequences(out[0], {})] and written[0].endswith(BEL)
    assert app.toasts[0][1] == "warning" and "j0 STALLED" in app.toasts[0][0]
    # Two more, then the burst is spent: the next ones wait for a timer, then go out as one summary.
    alerter.on_snapshot(snap(3, "j0", "j1", "j2"))
    assert len(written) == 3 and not app.timers
    assert alerter.on_snapshot(snap(4, "j0", "j1", "j2", "j3", "j4")) == []
    assert len(written) == 3 and len(app.timers) == 1 and app.timers[0].delay == 30
    now[0] = 30.0
    released = app.timers[0].callback()
    assert len(released) == 1 and released[0].kind == "summary" and released[0].count == 2
    assert "dtle: 2 alerts" in written[-1] and len(app.toasts) == 4


def test_alerter_reset_stops_a_pending_release() -> None:
    app, written = FakeApp(), []
    alerter = Alerter(app, write=written.append, env={}, clock=lambda: 0.0, gate=AlertGate(1, 30))
    alerter.on_snapshot(snap(1))
    alerter.on_snapshot(snap(2, "j0", "j1"))
    alerter.on_snapshot(snap(3, "j0", "j1", "j2"))
    assert len(app.timers) == 1
    alerter.reset()
    assert app.timers[0].stopped


def test_notify_is_off_by_default_and_set_by_flag_file_or_context(tmp_path) -> None:
    from dtle_tui.config.settings import ConfigError, describe_settings, load_settings

    env = {"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "config")}
    assert load_settings([], env).notify is False
    flagged = load_settings(["--notify"], env)
    assert flagged.notify is True
    assert ("notify", "True", "flag --notify") in describe_settings(flagged)
    config = tmp_path / "config" / "dtle-tui" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text('notify = true\n[contexts.quiet]\nnomad_addr = "http://127.0.0.1:4646"\nnotify = false\n')
    from_file = load_settings([], env)
    assert from_file.notify is True and from_file.sources["notify"].startswith("config file")
    quiet = load_settings(["--context", "quiet"], env)
    assert quiet.notify is False and quiet.sources["notify"] == "config context quiet"
    config.write_text('notify = "yes"\n')
    with pytest.raises(ConfigError, match="notify"):
        load_settings([], env)
