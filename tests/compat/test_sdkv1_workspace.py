"""SDK v1 code about the workspace itself, run through the ``azureml`` alias: the version,
the workspace's identity, compute targets found the SDK v1 way, and clear errors for the SDK v1
names hyperpipe leaves out."""

from __future__ import annotations


def test_version_and_workspace_identity_print_and_compare(sdkv1):
    ran = sdkv1(
        """
        import json
        import azureml.core
        from azureml.core import Workspace
        from packaging.version import Version

        print("SDK version:", azureml.core.VERSION)
        Workspace.create("identity", path="ws", location="westeurope", resource_group="rg1")
        ws = Workspace.from_config(path="ws")
        print(ws.name, ws.resource_group, ws.location, ws.subscription_id, sep="\\n")
        again = Workspace(ws.subscription_id, ws.resource_group, ws.name, path="ws")
        print(json.dumps({
            "newer": Version(azureml.core.VERSION) >= Version("1.0.85"),
            "identity": [ws.name, ws.resource_group, ws.location, ws.subscription_id],
            "same": again == ws,
            "details": [ws.get_details()[k] for k in ("name", "location", "resourceGroup")],
        }))
        """
    )
    assert ran.stdout.startswith("SDK version: 1.62.0+hyperpipe.")
    assert ran.result == {
        "newer": True,
        "identity": ["identity", "rg1", "westeurope", "local"],
        "same": True,
        "details": ["identity", "westeurope", "rg1"],
    }


def test_a_cluster_declared_once_is_found_by_the_does_it_exist_idiom(sdkv1):
    """SDK v1 samples look a cluster up first and create it only when missing; the second run
    of the script must find the first one's target."""
    code = """
        import json
        from azureml.core import Workspace
        from azureml.core.compute import AmlCompute, ComputeTarget
        from azureml.core.compute_target import ComputeTargetException

        ws = Workspace.create("cluster", path="ws", exist_ok=True)
        found = []
        try:
            target = ComputeTarget(workspace=ws, name="cpu-cluster")
            found.append("ComputeTarget")
        except ComputeTargetException:
            config = AmlCompute.provisioning_configuration(
                vm_size="STANDARD_D2_V2", min_nodes=0, max_nodes=3
            )
            target = ComputeTarget.create(ws, "cpu-cluster", config)
        target.wait_for_completion(show_output=True)
        cts = ws.compute_targets
        if "cpu-cluster" in cts and cts["cpu-cluster"].type == "AmlCompute":
            found.append("compute_targets")
        try:
            AmlCompute(ws, "cpu-cluster")
            found.append("AmlCompute")
        except ComputeTargetException:
            pass
        status = target.get_status().serialize()
        print(json.dumps({
            "found": found,
            "class": type(target).__name__,
            "type": target.type,
            "vm_size": target.vm_size,
            "max_nodes": target.max_nodes,
            "status": [status["provisioningState"], status["scaleSettings"], status["vmSize"]],
        }))
    """
    first = sdkv1(code).result
    second = sdkv1(code).result
    expected = {
        "class": "AmlCompute",
        "type": "AmlCompute",
        "vm_size": "STANDARD_D2_V2",
        "max_nodes": 3,
        "status": [
            "Succeeded",
            {"minNodeCount": 0, "maxNodeCount": 3, "nodeIdleTimeBeforeScaleDown": ""},
            "STANDARD_D2_V2",
        ],
    }
    assert first == {**expected, "found": ["compute_targets", "AmlCompute"]}
    assert second == {**expected, "found": ["ComputeTarget", "compute_targets", "AmlCompute"]}


def test_sdk_v1_attributes_hyperpipe_lacks_raise_one_clear_line(sdkv1):
    ran = sdkv1(
        """
        import json
        from azureml.core import Model, Run, Workspace
        from azureml.exceptions import UserErrorException

        ws = Workspace.create("errors", path="ws")
        caught = []
        for call in (
            lambda: ws.get_mlflow_tracking_uri(),
            lambda: Model.deploy,
            lambda: ws.get_default_datastor(),
        ):
            try:
                call()
            except AttributeError as exc:
                caught.append([type(exc).__name__, str(exc)])
        print(json.dumps({
            "caught": caught,
            "hasattr": hasattr(ws, "list_keys"),
            "getattr_default": getattr(Run, "get_secret", "absent"),
        }))
        """
    )
    result = ran.result
    readme = 'see README "Where hyperpipe differs from SDK v1"'
    assert result["caught"] == [
        [
            "AzureMLNotSupportedError",
            "not supported in hyperpipe: Workspace.get_mlflow_tracking_uri; there is no MLflow "
            "server; read metrics with run.get_metrics() or in the portal (`hyperpipe portal`); "
            + readme,
        ],
        [
            "AzureMLNotSupportedError",
            "not supported in hyperpipe: Model.deploy; serve the model files yourself: "
            "Model.get_model_path(name) or model.download(); " + readme,
        ],
        [
            "AzureMLNotSupportedError",
            "not supported in hyperpipe: Workspace.get_default_datastor; did you mean "
            "Workspace.get_default_datastore?; " + readme,
        ],
    ]
    assert result["hasattr"] is False
    assert result["getattr_default"] == "absent"
