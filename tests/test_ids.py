"""Random ids: the same format as ``uuid.uuid4()``, so stored ids look as they always did."""

from __future__ import annotations

import uuid

from hyperpipe._ids import uuid4_hex, uuid4_str


def test_ids_are_version_4_rfc_4122_uuids_in_uuid4_s_text_forms() -> None:
    text, digits = uuid4_str(), uuid4_hex()
    assert str(uuid.UUID(text)) == text
    assert uuid.UUID(hex=digits).hex == digits
    for parsed in (uuid.UUID(text), uuid.UUID(hex=digits)):
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122


def test_ids_do_not_repeat() -> None:
    assert len({uuid4_str() for _ in range(1000)}) == 1000
