import datetime as dt

import pytest

from streams.config.timeparse import TimeParseError, parse_time, to_millis

pytestmark = pytest.mark.unit
NOW = dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2026-11-26T10:00:00Z", dt.datetime(2026, 11, 26, 10, tzinfo=dt.UTC)),
        ("2026-11-26T11:00:00+01:00", dt.datetime(2026, 11, 26, 10, tzinfo=dt.UTC)),
        ("2026-11-26t10:00:00z", dt.datetime(2026, 11, 26, 10, tzinfo=dt.UTC)),
        ("2026-11-26 10:00Z", dt.datetime(2026, 11, 26, 10, tzinfo=dt.UTC)),
        ("20261126T100000Z", dt.datetime(2026, 11, 26, 10, tzinfo=dt.UTC)),
        ("2h", NOW - dt.timedelta(hours=2)),
        ("15m", NOW - dt.timedelta(minutes=15)),
        ("3d", NOW - dt.timedelta(days=3)),
    ],
)
def test_accepted_forms(raw, expected):
    assert parse_time(raw, NOW) == expected


def test_earliest_is_none():
    assert parse_time("earliest", NOW) is None


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("yesterday", "cannot read time"),
        ("2026-11-26T10:00:00", "has no zone"),
        ("2027-01-01T00:00:00Z", "in the future"),
    ],
)
def test_refused_forms_say_why(raw, fragment):
    with pytest.raises(TimeParseError, match=fragment):
        parse_time(raw, NOW)


def test_millis():
    assert to_millis(dt.datetime(1970, 1, 1, 0, 0, 1, tzinfo=dt.UTC)) == 1000


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("99999999d", "age '99999999d' reaches before 1970-01-01"),
        ("9" * 30 + "s", "reaches before 1970-01-01"),
        ("3000w", "reaches before 1970-01-01"),
        ("1969-12-31T23:59:59Z", "is before 1970-01-01"),
        ("0001-01-01T00:00:00+01:00", "is before 1970-01-01"),
    ],
)
def test_times_before_any_event_are_refused_not_overflowed(raw, fragment):
    with pytest.raises(TimeParseError, match=fragment):
        parse_time(raw, NOW)


def test_the_epoch_itself_and_an_age_reaching_it_are_accepted():
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    assert parse_time("1970-01-01T00:00:00Z", NOW) == epoch
    seconds = int((NOW - epoch).total_seconds())
    assert parse_time(f"{seconds}s", NOW) == epoch
