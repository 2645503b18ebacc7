"""The private Faust/aiokafka names warmline relies on are all there, and one taken away stops the worker."""

from __future__ import annotations

import pytest
from faust.transport import consumer as faust_consumer

from warmline.stream.internals import INTERNALS, FaustInternalsChanged, Internal, missing, require


def test_the_installed_faust_and_aiokafka_have_every_internal_warmline_uses() -> None:
    assert [internal.label for internal in missing()] == []


def test_a_method_an_upgrade_removed_stops_the_worker_with_its_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(faust_consumer.Consumer, "_new_offset")
    with pytest.raises(FaustInternalsChanged, match=r"Consumer\._new_offset \(used by warmline/stream/transport\.py\)"):
        require()


class _Renamed:
    def __init__(self) -> None:
        self._acked_offsets: dict[int, list[int]] = {}  # what a refactor upstream might call it
        self._gap_count = 0


def test_an_attribute_set_on_self_is_found_in_the_class_s_code_or_reported() -> None:
    assert Internal(_Renamed, "_acked_offsets", "-", "-", on_self=True).present()
    assert not Internal(_Renamed, "_acked", "-", "-", on_self=True).present()  # a longer name is not the same
    assert not Internal(_Renamed, "_gap", "-", "-", on_self=True).present()


def test_every_override_of_the_tuned_transport_is_listed() -> None:
    from warmline.stream import transport

    listed = {internal.name for internal in INTERNALS}
    own = {
        "_ledgered",
        "_refetch",
        "_seek_back",
        "_stale_past_start",
        "_note_seeks",
        "_lookup_lane",
        "_fetch_split",
        "_seek_lane",
        "_place_lane",
        "_abc_impl",
    }  # warmline's helpers; abc's bookkeeping
    private_overrides = {
        name
        for cls in (transport.TunedConsumer, transport.TunedConsumerThread, transport.StableProducer)
        for name in vars(cls)
        if name.startswith("_") and not name.startswith("__") and name not in own
    }
    assert private_overrides <= listed, private_overrides - listed
