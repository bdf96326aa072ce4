"""Register the best trial's model, which the HyperDriveStep hands on as its model output."""

import argparse
import os
from shutil import copy2

from azureml.core import Model, Run

parser = argparse.ArgumentParser()
parser.add_argument("--saved-model", type=str, dest="saved_model", help="path to saved model file")
args = parser.parse_args()

model_output_dir = "./model/"
os.makedirs(model_output_dir, exist_ok=True)
copy2(args.saved_model, os.path.join(model_output_dir, "model.json"))

ws = Run.get_context().experiment.workspace
model = Model.register(workspace=ws, model_name="sdkv1-logreg", model_path=model_output_dir)
print("registered", model.name, "version", model.version)
