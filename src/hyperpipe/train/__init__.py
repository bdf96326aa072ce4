"""``hyperpipe.train``: training helpers with SDK v1's ``azureml.train`` names (HyperDrive, DNN)."""
