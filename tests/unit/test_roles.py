"""Roles: which agents a role process runs, its consumer group, its port and its paths."""

from __future__ import annotations

import pytest

from streams.config.roles import ROLES, role_for_path, role_port
from streams.config.settings import Settings, SettingsError

pytestmark = pytest.mark.unit


def test_a_role_names_its_agents_and_a_consumer_group_of_its_own():
    settings = Settings.from_env({"ORDERFLOW_ROLE": "saga", "ORDERFLOW_NAMESPACE": "n1"})
    assert settings.agents == ("saga", "payment", "inventory", "shipping")
    assert settings.runs("inventory") and not settings.runs("orders")
    assert settings.worker_app_id == "orderflow-n1-saga"


def test_every_agent_group_belongs_to_exactly_one_role():
    from streams.config.saga_settings import AGENT_GROUPS

    groups = [group for agents in ROLES.values() for group in agents]
    assert sorted(groups) == sorted(AGENT_GROUPS)


def test_an_unknown_role_is_refused_with_the_known_ones():
    with pytest.raises(SettingsError, match="ORDERFLOW_ROLE must be one of orders, saga"):
        Settings.from_env({"ORDERFLOW_ROLE": "everything"})


def test_role_all_is_every_agent_in_one_process():
    settings = Settings.from_env({"ORDERFLOW_ROLE": "all", "ORDERFLOW_NAMESPACE": "n1"})
    assert settings.role == "" and settings.agents == ()
    assert settings.worker_app_id == "orderflow-n1"


def test_role_ports_follow_the_supervisor_port_and_differ():
    ports = [role_port(6066, role) for role in ROLES]
    assert ports == [6067, 6068, 6069]


@pytest.mark.parametrize(
    ("path", "role"),
    [
        ("/sagas/", "saga"),
        ("/sagas/o-1/", "saga"),
        ("/inventory/stock/", "saga"),
        ("/sagasx/", "projections"),
        ("/orders/o-1/", "projections"),
        ("/analytics/count/", "projections"),
    ],
)
def test_each_path_goes_to_the_role_that_serves_it(path, role):
    assert role_for_path(path) == role
