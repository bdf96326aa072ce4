"""``CommandStep`` written as SDK v1 code and run through the ``azureml`` alias: a command
string, a command list with an input and an output, and a ScriptRunConfig carrying the command."""

from __future__ import annotations


def test_command_steps_run_their_commands_with_inputs_outputs_and_parameters(sdkv1, write):
    write(
        "cmd/train.py",
        """
        import argparse, os
        from azureml.core import Run

        parser = argparse.ArgumentParser()
        parser.add_argument("--data")
        parser.add_argument("--out")
        parser.add_argument("--epochs", type=int)
        args = parser.parse_args()
        os.makedirs(args.out, exist_ok=True)
        words = sorted(open(os.path.join(args.data, f)).read().strip() for f in os.listdir(args.data))
        with open(os.path.join(args.out, "words.txt"), "w") as out:
            out.write(" ".join(words * args.epochs))
        Run.get_context().log("epochs", args.epochs)
        """,
    )
    write("cmd/count.sh", 'wc -w < "$1/words.txt" | tr -d " " > counted.txt; cat counted.txt\n')
    ran = sdkv1(
        """
        import json
        from azureml.core import Dataset, Experiment, ScriptRunConfig, Workspace
        from azureml.pipeline.core import Pipeline, PipelineData, PipelineParameter
        from azureml.pipeline.steps import CommandStep

        ws = Workspace.create("commands", path="ws")
        store = ws.get_default_datastore()
        for name, word in (("a.txt", "hello"), ("b.txt", "world")):
            (store._local_path("words") / name).parent.mkdir(parents=True, exist_ok=True)
            (store._local_path("words") / name).write_text(word)
        dataset = Dataset.File.from_files((store, "words"))
        words = PipelineData("words", datastore=store)
        epochs = PipelineParameter("epochs", default_value=2)

        train = CommandStep(
            name="train",
            command=["python train.py --data", dataset.as_mount(), "--out", words, "--epochs", epochs],
            outputs=[words],
            source_directory="cmd",
        )
        count = CommandStep(
            command="sh count.sh $AZUREML_DATAREFERENCE_words",
            inputs=[words],
            source_directory="cmd",
        )
        listing = CommandStep(
            name="list",
            runconfig=ScriptRunConfig(source_directory="cmd", command=["ls"]),
        )
        listing.run_after(count)
        run = Experiment(ws, "commands").submit(Pipeline(ws, [train, count, listing]))
        status = run.wait_for_completion(show_output=False)
        train_run = run.find_step_run("train")[0]
        count_run = run.find_step_run("CommandStep_sh")[0]
        print(json.dumps({
            "status": status,
            "metrics": train_run.get_metrics(),
            "counted": count_run.get_job_log().split(),
            "listed": sorted(run.find_step_run("list")[0].get_job_log().split()),
            "types": sorted(s.properties["StepType"] for s in run.get_steps()),
        }))
        """
    )
    assert ran.result == {
        "status": "Finished",
        "metrics": {"epochs": 2},
        "counted": ["4"],
        "listed": ["count.sh", "train.py"],
        "types": ["CommandStep", "CommandStep", "CommandStep"],
    }


def test_a_command_step_without_a_command_says_what_is_missing(sdkv1):
    ran = sdkv1(
        """
        import json
        from azureml.pipeline.steps import CommandStep

        try:
            CommandStep(name="nothing")
        except ValueError as exc:
            print(json.dumps(str(exc)))
        """
    )
    assert ran.result == (
        "CommandStep needs command='executable args' (or a list starting with that text), "
        "directly or through runconfig=ScriptRunConfig(command=...); got None"
    )
