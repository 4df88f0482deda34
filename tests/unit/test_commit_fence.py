"""CommitFence: a commit waits for the messages in hand and holds new ones back."""

from __future__ import annotations

import asyncio

import pytest

from streams.runtime.faust_fixes import CommitFence

pytestmark = pytest.mark.unit


def test_a_commit_waits_for_messages_in_hand_and_new_ones_wait_for_the_commit():
    log: list[str] = []

    async def run() -> None:
        fence = CommitFence()
        release_first = asyncio.Event()

        async def message(name: str, hold: asyncio.Event | None = None) -> None:
            async with fence:
                log.append(f"{name} start")
                if hold is not None:
                    await hold.wait()
                log.append(f"{name} end")

        async def commit() -> None:
            async with fence.committing():
                log.append("commit start")
                await asyncio.sleep(0.01)
                log.append("commit end")

        first = asyncio.create_task(message("m1", release_first))
        await asyncio.sleep(0)
        committing = asyncio.create_task(commit())
        await asyncio.sleep(0)
        second = asyncio.create_task(message("m2"))
        await asyncio.sleep(0.01)
        assert log == ["m1 start"]  # the commit waits for m1, m2 waits for the commit
        release_first.set()
        await asyncio.gather(first, committing, second)

    asyncio.run(run())
    assert log == ["m1 start", "m1 end", "commit start", "commit end", "m2 start", "m2 end"]


def test_messages_run_side_by_side_when_nothing_commits():
    async def run() -> int:
        fence = CommitFence()
        both_in = asyncio.Event()
        inside = 0

        async def message() -> None:
            nonlocal inside
            async with fence:
                inside += 1
                if inside == 2:
                    both_in.set()
                await asyncio.wait_for(both_in.wait(), 1)

        await asyncio.gather(message(), message())
        return inside

    assert asyncio.run(run()) == 2


def test_installing_the_patches_twice_wraps_each_method_once():
    from faust.tables.recovery import Recovery
    from faust.transport.consumer import Consumer

    from streams.runtime.faust_fixes import install

    install()
    patched = (Recovery.on_recovery_completed, Consumer.force_commit)
    install()
    assert (Recovery.on_recovery_completed, Consumer.force_commit) == patched
    assert Consumer.force_commit.__wrapped__.__name__ == "force_commit"
    assert not getattr(Consumer.force_commit.__wrapped__, "_orderflow_patched", False)


def test_the_fixes_refuse_an_untested_faust_naming_both_versions_and_the_way_out():
    from streams.runtime.faust_fixes import ALLOW_UNTESTED, TESTED, UntestedFaust, check_versions

    tested = {name: versions[0] for name, versions in TESTED.items()}
    check_versions(tested, {})  # the pinned versions pass
    newer = {**tested, "faust-streaming": "0.16.0"}
    with pytest.raises(UntestedFaust) as refused:
        check_versions(newer, {})
    message = str(refused.value)
    assert "faust-streaming 0.16.0" in message and "faust-streaming 0.15.3" in message
    assert ALLOW_UNTESTED in message and "aiokafka 0.14.0" in message
    check_versions(newer, {ALLOW_UNTESTED: "1"})  # allowed on purpose: a warning only


def test_a_patched_method_that_is_gone_is_named():
    from streams.runtime.faust_fixes import UntestedFaust, patch_once

    class Renamed:
        pass

    with pytest.raises(UntestedFaust, match="Renamed.on_recovery_completed"):
        patch_once(Renamed, "on_recovery_completed", lambda original: original)
