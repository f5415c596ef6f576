"""The dialogs' plans and the action reports write BinlogFilePos as the screens do (issue 26, item 9):
`mysql-bin.000123:4567`, never dtle's stored `mysql-bin.000123//dtle//4567`."""

from __future__ import annotations

from tests.core.test_actions import make_actions, state_env, stop_allocations  # noqa: F401 - fixtures

STORED = b"mysql-bin.000123//dtle//4567"
SHOWN = "mysql-bin.000123:4567"


async def test_reset_plan_and_report_and_readd_plan(sim, make_actions):  # noqa: F811 - the fixture
    actions = make_actions(sim)
    assert (await actions.delete_job("job1")).ok
    stop_allocations(sim, "job1")
    sim.kv.put("dtle/job1/BinlogFilePos", STORED)

    plan = await actions.plan_reset_gtid("job1")
    assert plan.refusal is None
    text = "\n".join(plan.lines())
    assert SHOWN in text and "//dtle//" not in text

    readd = await actions.plan_readd("job1")
    assert readd.resumes
    readd_text = "\n".join(readd.lines())
    assert SHOWN in readd_text and "//dtle//" not in readd_text

    result = await actions.reset_gtid("job1")
    assert result.ok, result.text()
    assert SHOWN in result.text() and "//dtle//" not in result.text()
