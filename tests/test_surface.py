"""``SdkV1Surface``: SDK v1 names a class lacks raise one clear line, and nothing else changes."""

from __future__ import annotations

import pytest

from hyperpipe._surface import SdkV1Surface
from hyperpipe.exceptions import AzureMLNotSupportedError


class Thing(SdkV1Surface):
    def __init__(self) -> None:
        self.value = 1

    @property
    def broken(self) -> int:
        return self.missing_inside  # an AttributeError raised by the property itself

    def get_details(self) -> dict:
        return {}


def test_a_missing_public_name_on_an_object_or_its_class_names_the_call():
    with pytest.raises(AzureMLNotSupportedError, match=r"^not supported in hyperpipe: Thing\.x; "):
        Thing().x  # noqa: B018
    with pytest.raises(AzureMLNotSupportedError, match=r"^not supported in hyperpipe: Thing\.x; "):
        Thing.x  # noqa: B018
    with pytest.raises(AttributeError, match="did you mean Thing.get_details"):
        Thing().get_detail()


def test_private_names_and_absence_checks_behave_as_in_python():
    with pytest.raises(AttributeError) as info:
        Thing()._private  # noqa: B018
    assert not isinstance(info.value, AzureMLNotSupportedError)
    assert not hasattr(Thing(), "x")
    assert getattr(Thing, "x", None) is None
    assert Thing().value == 1


def test_an_attribute_error_inside_a_property_is_not_disguised():
    with pytest.raises(AttributeError) as info:
        Thing().broken  # noqa: B018
    assert "missing_inside" in str(info.value)
