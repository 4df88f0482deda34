"""Parameters of the HTTP views and the settings that make the API safe by default."""

from __future__ import annotations

import pytest

from streams.config.settings import Settings, SettingsError
from streams.ops.analytics import analytics_arguments
from streams.ops.query_params import BadParameter

pytestmark = pytest.mark.unit


def test_the_api_binds_loopback_and_hides_faust_views_unless_configured():
    settings = Settings.from_env({})
    assert settings.web_host == "127.0.0.1" and settings.web_debug_views is False
    custom = Settings.from_env({"ORDERFLOW_WEB_HOST": "0.0.0.0", "ORDERFLOW_WEB_DEBUG_VIEWS": "1"})
    assert custom.web_host == "0.0.0.0" and custom.web_debug_views is True


def test_a_debug_views_switch_that_is_not_a_flag_is_refused():
    with pytest.raises(SettingsError, match="ORDERFLOW_WEB_DEBUG_VIEWS"):
        Settings.from_env({"ORDERFLOW_WEB_DEBUG_VIEWS": "maybe"})


@pytest.mark.parametrize(
    ("name", "query", "parameter"),
    [
        ("daily", {"from": "2026-02-30"}, "from"),
        ("daily", {"limit": "3"}, "limit"),
        ("top-skus", {"limit": "0"}, "limit"),
        ("top-skus", {"limit": "ten"}, "limit"),
        ("count", {"correlation_id": "a\nb"}, "correlation_id"),
        ("order-summaries", {"after": "x" * 201}, "after"),
        ("funnel", {"from": "2026-01-01"}, "from"),
    ],
)
def test_analytics_arguments_name_the_bad_parameter(name, query, parameter):
    with pytest.raises(BadParameter) as refused:
        analytics_arguments(name, query)
    assert refused.value.parameter == parameter


def test_analytics_arguments_have_bounded_defaults():
    assert analytics_arguments("top-skus", {}) == {"limit": 10}
    assert analytics_arguments("order-summaries", {}) == {"after": "", "limit": 1000}
    assert analytics_arguments("daily", {"from": "2026-01-01"})["date_from"].day == 1
