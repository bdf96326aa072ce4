"""What a monitor does when a check finds drift: record the e-mail addresses (nothing is sent)
and, when it names a pipeline endpoint, submit the endpoint's default version on the drifted
data, unless a retrain started within the cool-down.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from hyperpipe._surface import SdkV1Surface
from hyperpipe.exceptions import UserErrorException

if TYPE_CHECKING:
    from hyperpipe.core import Workspace

__all__ = ["AlertConfiguration"]

# SDK v1 checked addresses with a simple pattern too (one @, a dot in the domain).
_EMAIL = re.compile(r"^[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+$")


class AlertConfiguration(SdkV1Surface):
    """SDK v1's ``AlertConfiguration(email_addresses)``, with hyperpipe's action.

    ``pipeline_endpoint`` (a ``PipelineEndpoint`` or its name): submitted when a check finds
    drift, in ``experiment_name`` (default: the endpoint's name), with ``pipeline_parameters``
    plus ``dataset_parameter`` set to the drifted target dataset version. ``cool_down``: after a
    retrain starts, later drifting checks whose window starts less than this after that check's
    window ended start none (default: 7 days)."""

    def __init__(
        self,
        email_addresses: list[str] | None = None,
        pipeline_endpoint: Any = None,
        pipeline_parameters: dict[str, Any] | None = None,
        experiment_name: str | None = None,
        dataset_parameter: str | None = "drifted_dataset",
        cool_down: timedelta = timedelta(days=7),
    ) -> None:
        addresses = list(email_addresses or [])
        for address in addresses:
            if not isinstance(address, str) or not _EMAIL.match(address):
                raise UserErrorException(
                    f"AlertConfiguration: {address!r} is not an e-mail address; pass addresses "
                    "like 'name@example.com'"
                )
        if not isinstance(cool_down, timedelta) or cool_down < timedelta(0):
            raise UserErrorException(
                f"AlertConfiguration: cool_down must be a timedelta of 0 or more, got "
                f"{cool_down!r}: e.g. cool_down=timedelta(days=7)"
            )
        if pipeline_parameters is not None and not isinstance(pipeline_parameters, dict):
            raise UserErrorException(
                f"AlertConfiguration: pipeline_parameters must be a dict, got "
                f"{type(pipeline_parameters).__name__}"
            )
        if pipeline_endpoint is not None and not isinstance(pipeline_endpoint, str):
            name = getattr(pipeline_endpoint, "name", None)
            if not isinstance(name, str):
                raise UserErrorException(
                    "AlertConfiguration: pipeline_endpoint must be a PipelineEndpoint or its "
                    f"name, got {type(pipeline_endpoint).__name__}"
                )
            pipeline_endpoint = name
        self.email_addresses = addresses
        self.pipeline_endpoint = pipeline_endpoint
        self.pipeline_parameters = dict(pipeline_parameters or {})
        self.experiment_name = experiment_name
        self.dataset_parameter = dataset_parameter
        self.cool_down = cool_down

    def __repr__(self) -> str:
        return (
            f"AlertConfiguration(email_addresses={self.email_addresses!r}, "
            f"pipeline_endpoint={self.pipeline_endpoint!r})"
        )

    def _to_dict(self) -> dict[str, Any]:
        return {
            "email_addresses": self.email_addresses,
            "pipeline_endpoint": self.pipeline_endpoint,
            "pipeline_parameters": self.pipeline_parameters,
            "experiment_name": self.experiment_name,
            "dataset_parameter": self.dataset_parameter,
            "cool_down_s": self.cool_down.total_seconds(),
        }

    @classmethod
    def _from_dict(cls, data: dict[str, Any] | None) -> AlertConfiguration | None:
        if not data:
            return None
        return cls(
            email_addresses=data.get("email_addresses"),
            pipeline_endpoint=data.get("pipeline_endpoint"),
            pipeline_parameters=data.get("pipeline_parameters"),
            experiment_name=data.get("experiment_name"),
            dataset_parameter=data.get("dataset_parameter"),
            cool_down=timedelta(seconds=data.get("cool_down_s", 7 * 86400)),
        )

    def _submit(self, workspace: Workspace, target_dataset: Any) -> Any:
        """Start the retrain: the endpoint's default version, on the drifted dataset."""
        from hyperpipe.pipeline.core import PipelineEndpoint

        endpoint = PipelineEndpoint.get(workspace, name=self.pipeline_endpoint)
        parameters = dict(self.pipeline_parameters)
        if self.dataset_parameter:
            parameters[self.dataset_parameter] = target_dataset
        return endpoint.submit(
            self.experiment_name or endpoint.name, pipeline_parameters=parameters
        )
