"""The lab's trainer (examples/newsgroups/code/modeling): best-trial selection, features and their
cache, the sparse model, and small end-to-end calls, all on tiny synthetic documents."""

from __future__ import annotations

import importlib
import itertools
import json
import os
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

MODELING = Path(__file__).resolve().parents[3] / "examples/newsgroups/code/modeling"


def _load(name: str):
    """Import a module of the modeling folder (its scripts import each other by plain name)."""
    if str(MODELING) not in sys.path:
        sys.path.insert(0, str(MODELING))
    module = sys.modules.get(name)
    if module is not None and Path(getattr(module, "__file__", "") or "").parent != MODELING:
        del sys.modules[name]  # an unrelated module of the same name
    return importlib.import_module(name)


features = _load("features")
cache = _load("cache")
best = _load("best")
model = _load("model")
train = _load("train")

HP = ("learning_rate", "num_epochs", "batch_size", "hidden_size")
TOPICS = {
    "sci.space": "orbit rocket launch nasa moon shuttle",
    "rec.autos": "engine car wheel dealer brake tires",
    "talk.politics": "vote senate law government policy tax",
}


def _trial(accuracy, lr=0.001, epochs=10, batch=64, hidden=300, **extra):
    values = {"learning_rate": lr, "num_epochs": epochs, "batch_size": batch, "hidden_size": hidden}
    listed = {k: v if isinstance(v, list) else [v] for k, v in values.items()}
    return {"accuracy": accuracy, **listed, **extra}


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    """Outside any hyperpipe run: Run.get_context() is an offline run."""
    for name in ("AZUREML_RUN_ID", "HYPERPIPE_WORKSPACE", train.METRICS_ENV):
        monkeypatch.delenv(name, raising=False)


def write_corpus(root: Path, docs_per_topic: int = 12, seed: int = 0) -> Path:
    """``<category>/<docid>`` files: each topic's words plus shared filler, some latin-1 bytes."""
    rng = np.random.default_rng(seed)
    filler = ["the", "a", "of", "and", "to", "in", "is", "it", "that", "for", "with", "this"]
    for t, (topic, words) in enumerate(TOPICS.items()):
        vocabulary = words.split()
        (root / topic).mkdir(parents=True, exist_ok=True)
        for i in range(docs_per_topic):
            tokens = list(rng.choice(vocabulary, 6)) + list(rng.choice(filler, 8))
            text = f"From: user{1000 * t + i}@example.com\nSubject: {topic}\n\n" + " ".join(tokens)
            (root / topic / str(1000 * t + i)).write_bytes(text.encode() + b" caf\xe9\n")
    return root


@pytest.fixture
def corpus(tmp_path) -> tuple[Path, Path]:
    return write_corpus(tmp_path / "train"), write_corpus(tmp_path / "test", 5, seed=1)


# -- best trial ------------------------------------------------------------------------------


def test_the_best_trial_has_the_highest_accuracy_it_ever_logged():
    metrics = {
        "HD_x_0": {},  # logged nothing
        "HD_x_1": _trial([0.80], lr=0.01),
        "HD_x_2": _trial([0.70, 0.90], lr=0.003, epochs=15.0, batch="32", hidden=[100, 200]),
        "HD_x_3": _trial(["junk", None, True], lr=0.5),  # string-valued junk: no accuracy
        "HD_x_4": {"loss": [1.0, 0.5]},
        "HD_x_5": {"accuracy": [0.95], "learning_rate": ["fast"]},  # no usable hyperparameters
        "HD_x_6": "not a dict",
    }
    chosen = best.select(metrics)
    assert chosen.run_id == "HD_x_2" and chosen.accuracy == 0.90
    assert chosen.hyperparameters == {
        "learning_rate": 0.003,
        "num_epochs": 15,
        "batch_size": 32,
        "hidden_size": 200,  # the last logged value
    }
    assert isinstance(chosen.hyperparameters["num_epochs"], int)
    assert (chosen.trials, chosen.usable) == (7, 2)


def test_ties_go_to_the_first_trial_listed_and_bare_or_string_values_count():
    metrics = {
        "HD_x_1": _trial(0.85, lr=0.002),  # a bare value, not a list
        "HD_x_0": _trial(["0.85"], lr=0.001),  # the same accuracy, as a string
        "HD_x_2": _trial(["[0.84]", float("nan")], lr=0.004),
    }
    assert best.select(metrics).run_id == "HD_x_1"
    assert best.select({"HD_y": _trial([float("inf"), "0.5"])}).accuracy == 0.5


def test_best_trial_reads_the_sdk_v1_file_or_a_folder_holding_it(tmp_path):
    payload = {"HD_a_0": _trial([0.8]), "HD_a_1": _trial([0.86], lr=0.002, hidden=200)}
    path = tmp_path / "metrics_data"
    path.write_text(json.dumps(payload))
    assert best.best_trial(path).run_id == "HD_a_1"
    folder = tmp_path / "port"
    folder.mkdir()
    (folder / "metrics.json").write_text(json.dumps(payload))
    assert best.best_trial(folder).hyperparameters["hidden_size"] == 200


@pytest.mark.parametrize(
    ("content", "detail"),
    [
        (None, "metrics JSON not found"),
        ("{}", "metrics JSON is empty"),
        ("", "metrics JSON is empty"),
        ('{"HD_0": {}, "HD_1": {"loss": [0.3]}, "HD_2": {"accuracy": ["n/a"]}}', "no trial of 3"),
        ("{not json", "not valid JSON"),
        ("[1, 2]", "not an object of trials"),
    ],
)
def test_no_accuracy_in_the_metrics_is_a_clear_one_line_error(tmp_path, content, detail):
    path = tmp_path / "metrics.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(SystemExit) as caught:
        best.best_trial(path)
    message = str(caught.value)
    assert str(path) in message and detail in message
    assert "the HyperDrive step logged no accuracy" in message and "\n" not in message


def test_accuracy_without_hyperparameters_is_an_error_too():
    with pytest.raises(SystemExit, match="logged accuracy but none logged all of learning_rate"):
        best.select({"HD_0": {"accuracy": [0.9]}})


# -- features and their cache ----------------------------------------------------------------


def test_vocabulary_idf_and_rows(corpus):
    train_dir, test_dir = corpus
    docs = features.read_corpus(train_dir)
    assert len(docs.paths) == 36 and docs.paths[0].startswith("rec.autos/")
    vocab, rows = features.fit(docs, features.FeatureConfig(min_df=2, max_vocab=1000))
    assert vocab.labels == sorted(TOPICS)
    assert "orbit" in vocab.terms and "caf" in vocab.terms  # latin-1 bytes decode
    assert not any(t.startswith("user") for t in vocab.terms)  # in one document each: < min_df
    index = vocab.index
    # "subject" is in every document: the lowest idf (scikit-learn's smoothed formula)
    assert vocab.idf[index["subject"]] == pytest.approx(np.log(37 / 37) + 1)
    orbit_df = sum("orbit" in features.tokenize(text) for text in docs.texts)
    assert vocab.idf[index["orbit"]] == pytest.approx(np.log(37 / (1 + orbit_df)) + 1)
    assert len(rows) == 36 and rows.indptr[-1] == len(rows.indices) == len(rows.weights)
    norms = np.sqrt(np.add.reduceat(rows.weights.astype(np.float64) ** 2, rows.indptr[:-1]))
    assert norms == pytest.approx(np.ones(36), abs=1e-5)
    assert rows.indices.max() < len(vocab.terms)
    capped, _ = features.fit(docs, features.FeatureConfig(min_df=2, max_vocab=5))
    assert capped.terms == ["caf", "com", "example", "from", "subject"]  # df 36, ties by name
    held_out = features.transform(features.read_corpus(test_dir), vocab)
    assert len(held_out) == 15 and set(held_out.targets) == {0, 1, 2}
    rogue = test_dir / "comp.graphics"
    rogue.mkdir()
    (rogue / "1").write_text("pixels")
    with pytest.raises(ValueError, match=r"not in the training data: comp\.graphics"):
        features.transform(features.read_corpus(test_dir), vocab)


def _cached(train_dir, test_dir, root, config=None):
    return cache.cached_features(
        cache.Documents(train_dir), cache.Documents(test_dir), config, root
    )


def test_features_are_cached_by_content(corpus, tmp_path):
    train_dir, test_dir = corpus
    root = tmp_path / "cache"
    config = features.FeatureConfig(min_df=2, max_vocab=1000)
    first = _cached(train_dir, test_dir, root, config)
    assert first.hits == (False, False)
    again = _cached(train_dir, test_dir, root, config)
    assert again.hits == (True, True) and again.train_key == first.train_key
    assert np.array_equal(again.train.weights, first.train.weights)
    assert np.array_equal(again.evaluation.indices, first.evaluation.indices)
    assert again.vocab.terms == first.vocab.terms and again.vocab.labels == first.vocab.labels

    # the same content elsewhere (each trial mounts its inputs in a new folder): still a hit
    moved = tmp_path / "mounted"
    train_dir.rename(moved)
    assert _cached(moved, test_dir, root, config).hits == (True, True)

    # one byte changed in one training document: a new training entry, and new evaluation rows
    doc = moved / "sci.space" / "3"
    doc.write_bytes(doc.read_bytes()[:-1] + b" ")  # the same size
    changed = _cached(moved, test_dir, root, config)
    assert changed.hits == (False, False) and changed.train_key != first.train_key
    # other feature settings: another entry
    other = features.FeatureConfig(min_df=1, max_vocab=1000)
    assert _cached(moved, test_dir, root, other).hits == (False, False)
    entries = [p for p in root.iterdir() if p.is_dir()]
    assert len(entries) == 6 and not [p for p in entries if p.name.startswith(".")]


def test_a_file_dataset_shares_the_entry_of_its_folder(corpus, tmp_path):
    from hyperpipe.core import Dataset

    train_dir, test_dir = corpus
    root = tmp_path / "cache"
    dataset = Dataset.File.from_files(str(train_dir / "**"))
    built = _cached(dataset, test_dir, root)
    assert built.hits == (False, False) and len(built.train) == 36
    assert _cached(train_dir, test_dir, root).hits == (True, True)


def test_the_default_cache_is_in_the_run_workspace(monkeypatch, tmp_path):
    monkeypatch.setenv("HYPERPIPE_WORKSPACE", str(tmp_path / "ws"))
    assert cache.default_root() == tmp_path / "ws/.hyperpipe/cache/newsgroups-features"
    monkeypatch.delenv("HYPERPIPE_WORKSPACE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache.default_root() == tmp_path / "xdg/hyperpipe/newsgroups-features"


def test_racing_builders_featurise_once(tmp_path):
    calls = []

    def build(folder: Path) -> dict:
        calls.append(folder)
        time.sleep(0.2)
        (folder / "features.npz").write_bytes(b"x")
        return {"n": len(calls)}

    results = []
    threads = [
        threading.Thread(target=lambda: results.append(cache.build_once(tmp_path, "k", build)))
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1
    assert sorted(hit for _, hit in results) == [False, True]
    assert {path for path, _ in results} == {tmp_path / "k"}
    assert json.loads((tmp_path / "k/meta.json").read_text())["n"] == 1
    assert [p.name for p in tmp_path.iterdir() if p.is_dir()] == ["k"]  # no scratch left


def test_a_builder_that_loses_the_rename_discards_its_copy(tmp_path):
    def build(folder: Path) -> dict:
        # another process (without the lock) completes the entry meanwhile
        winner = tmp_path / "k"
        winner.mkdir()
        (winner / "meta.json").write_text("{}")
        (folder / "features.npz").write_bytes(b"mine")
        return {}

    path, hit = cache.build_once(tmp_path, "k", build)
    assert path == tmp_path / "k" and not hit
    assert not (path / "features.npz").exists()  # the winner's entry is kept
    assert [p.name for p in tmp_path.iterdir() if p.is_dir()] == ["k"]


# -- the model -------------------------------------------------------------------------------


def _tiny_rows():
    # 4 documents over a 10-term vocabulary, 2 classes
    indptr = np.array([0, 2, 5, 6, 8])
    indices = np.array([0, 1, 2, 3, 4, 5, 6, 7])
    weights = np.array([0.6, 0.8, 0.5, 0.5, 0.7, 1.0, 0.6, 0.8], dtype=np.float32)
    return features.Features(indptr, indices, weights, np.array([0, 1, 0, 1]))


def test_forward_backward_on_a_sparse_batch():
    torch.manual_seed(0)
    net = model.TextClassifier(vocab_size=10, hidden_size=16, num_classes=2)
    (batch,) = model.Rows.of(_tiny_rows()).batches(8)
    logits = net(batch.indices, batch.offsets, batch.weights)
    assert logits.shape == (4, 2)
    torch.nn.functional.cross_entropy(logits, batch.targets).backward()
    grad = net.embedding.weight.grad
    assert grad.shape == (10, 16) and not grad.is_sparse
    assert grad[:8].abs().sum(dim=1).gt(0).all()  # every term used gets a gradient
    assert grad[8:].abs().sum() == 0  # unused terms none
    assert net.output.weight.grad.abs().sum() > 0 and net.hidden_bias.grad is not None

    optimizer = model.make_optimizer(net, 0.05)
    gradient = model.EmbeddingGradient(net.embedding.weight)
    losses = [float(model.step(net, optimizer, gradient, batch)) for _ in range(15)]
    assert losses[-1] < losses[0] / 2


def test_the_reused_embedding_gradient_equals_autograds():
    torch.manual_seed(0)
    net = model.TextClassifier(vocab_size=10, hidden_size=16, num_classes=2)
    gradient = model.EmbeddingGradient(net.embedding.weight)
    rows = model.Rows.of(_tiny_rows())
    # two steps' batches with different (and repeated) terms: rows of the first must be reset
    for order in ([0, 1], [2, 3, 1]):
        (batch,) = rows.permuted(torch.tensor(order)).batches(8)
        batch.indices = torch.cat([batch.indices, batch.indices[:1]])  # a term twice in a doc
        batch.weights = torch.cat([batch.weights, torch.tensor([0.25])])
        net.zero_grad(set_to_none=True)
        logits = net(batch.indices, batch.offsets, batch.weights)
        torch.nn.functional.cross_entropy(logits, batch.targets).backward()
        expected = net.embedding.weight.grad.clone()
        with torch.no_grad():
            bag = net.bag(batch.indices, batch.offsets, batch.weights)
        bag.requires_grad_(True)
        torch.nn.functional.cross_entropy(net.head(bag), batch.targets).backward()
        gradient.accumulate(batch, bag.grad)
        assert net.embedding.weight.grad is gradient.buffer
        torch.testing.assert_close(gradient.buffer, expected)


def test_shuffled_batches_keep_every_document_intact():
    rows = model.Rows.of(_tiny_rows())
    order = torch.tensor([3, 1, 0, 2])
    batches = list(rows.permuted(order).batches(3))
    assert [len(b.targets) for b in batches] == [3, 1]
    got = []
    for b in batches:
        ends = [*b.offsets.tolist(), len(b.indices)]
        got += [b.indices[s:e].tolist() for s, e in itertools.pairwise(ends)]
    assert got == [[6, 7], [2, 3, 4], [0, 1], [5]]


def test_training_flushes_subnormals_only_while_it_trains(corpus):
    smallest = float.fromhex("0x0.0000000000001p-1022")
    seen = []
    vocab, rows = features.fit(features.read_corpus(corpus[0]), features.FeatureConfig())
    hp = model.Hyperparameters(learning_rate=0.01, num_epochs=1, batch_size=8, hidden_size=4)
    on_epoch = lambda *_: seen.append(smallest == 0.0)  # noqa: E731
    model.train(rows, len(vocab.terms), len(vocab.labels), hp, on_epoch=on_epoch)
    assert seen == [True]  # fast Adam on the CPU
    assert smallest != 0.0  # the caller's IEEE subnormals are back
    torch.set_flush_denormal(True)
    try:
        model.train(rows, len(vocab.terms), len(vocab.labels), hp)
        assert smallest == 0.0  # and a caller who had them flushed keeps that
    finally:
        torch.set_flush_denormal(False)


def test_sample_weights_decide_which_posts_the_model_learns_and_equal_ones_change_nothing(corpus):
    vocab, rows = features.fit(features.read_corpus(corpus[0]), features.FeatureConfig())
    hp = model.Hyperparameters(learning_rate=0.01, num_epochs=8, batch_size=8, hidden_size=8)
    shape = (rows, len(vocab.terms), len(vocab.labels), hp)
    space = vocab.labels.index("sci.space")
    plain = model.train(*shape, seed=3)
    equal = model.train(*shape, seed=3, sample_weights=np.full(len(rows), 2.5))
    assert equal.losses == plain.losses  # equal weights: the unweighted loss, bit for bit
    assert (model.predict(plain.model, rows)[rows.targets == space] == space).all()

    ignored = np.where(rows.targets == space, 0.0, 1.0)
    weighted = model.train(*shape, seed=3, sample_weights=ignored)
    assert not (model.predict(weighted.model, rows)[rows.targets == space] == space).any()
    with pytest.raises(ValueError, match=r"shape \(3,\); pass one weight per row \(36\)"):
        model.train(*shape, sample_weights=np.ones(3))
    with pytest.raises(ValueError, match="finite, non-negative and not all zero"):
        model.train(*shape, sample_weights=-ignored)


def test_the_gpu_path_cuts_the_same_batches_and_sums_the_same_gradient():
    """What runs on a GPU (a device copy of the rows beside the host's row pointers; the gradient
    scattered with index_add_), run here on the CPU against the CPU path."""
    host = model.Rows.of(_tiny_rows())
    device = model.Rows(
        *(t.clone() for t in (host.indptr, host.indices, host.weights, host.targets))
    )
    device.host_indptr = host.indptr.clone()  # a separate host copy: the device path
    torch.manual_seed(0)
    net = model.TextClassifier(vocab_size=10, hidden_size=16, num_classes=2)
    sorted_sums = model.EmbeddingGradient(net.embedding.weight)
    scattered = model.EmbeddingGradient(net.embedding.weight, scatter=True)
    for order in ([3, 1, 0, 2], [2, 0, 1, 3]):
        cut = [list(rows.permuted(torch.tensor(order)).batches(3)) for rows in (host, device)]
        for a, b in zip(*cut, strict=True):
            for name in ("indices", "offsets", "weights", "targets"):
                torch.testing.assert_close(getattr(a, name), getattr(b, name), rtol=0, atol=0)
            with torch.no_grad():
                bag = net.bag(a.indices, a.offsets, a.weights)
            bag.requires_grad_(True)
            torch.nn.functional.cross_entropy(net.head(bag), a.targets).backward()
            sorted_sums.accumulate(a, bag.grad)
            scattered.accumulate(b, bag.grad)
            torch.testing.assert_close(scattered.buffer, sorted_sums.buffer)


def test_the_device_is_chosen_printed_and_recorded(corpus, tmp_path, monkeypatch, capsys):
    train_dir, test_dir = corpus
    monkeypatch.chdir(tmp_path)
    argv = ["--input_train", str(train_dir), "--input_test", str(test_dir)]
    argv += ["--cache_dir", str(tmp_path / "cache"), "--num_epochs", "1", "--hidden_size", "4"]
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert train.main(argv)["device"].startswith(expected)
    printed = capsys.readouterr().out
    assert f"device: {expected}" in printed
    assert "Attempted to add properties {'device': " in printed
    assert train.main([*argv, "--device", "cpu"])["device"] == "cpu"


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
def test_asking_for_cuda_without_a_gpu_is_a_one_line_error(corpus, monkeypatch):
    train_dir, test_dir = corpus
    argv = ["--input_train", str(train_dir), "--input_test", str(test_dir), "--device", "cuda"]
    with pytest.raises(
        SystemExit, match=r"^--device cuda: no CUDA device here: .*; use auto or cpu$"
    ):
        train.main(argv)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    with pytest.raises(SystemExit, match="CUDA_VISIBLE_DEVICES='' hides every GPU"):
        train.main(argv)


# -- end to end ------------------------------------------------------------------------------


def test_training_on_tiny_documents_logs_and_scores(corpus, tmp_path, capsys):
    train_dir, test_dir = corpus
    hp = model.Hyperparameters(learning_rate=0.01, num_epochs=4, batch_size=8, hidden_size=16)
    from hyperpipe.core import Run

    outcome = train.run_training(
        train_dir, test_dir, hp, run=Run.get_context(), cache_dir=tmp_path / "cache"
    )
    assert 0.0 <= outcome.accuracy <= 1.0 and len(outcome.losses) == 4
    assert outcome.losses[-1] < outcome.losses[0]
    printed = capsys.readouterr().out
    for name in ("learning_rate", "num_epochs", "batch_size", "hidden_size", "loss", "accuracy"):
        assert f"metric {name}:" in printed  # the offline run prints what it is given


def test_the_cli_tunes_then_trains_the_full_model_from_the_metrics(corpus, tmp_path, monkeypatch):
    train_dir, test_dir = corpus
    monkeypatch.chdir(tmp_path)
    common = ["--input_train", str(train_dir), "--input_test", str(test_dir)]
    common += ["--cache_dir", str(tmp_path / "cache")]
    hp = ["--learning_rate", "0.02", "--num_epochs", "3.0", "--batch_size", "8"]
    tuned = train.main([*hp, "--hidden_size", "8", *common])
    assert tuned["mode"] == "tuning" and 0 <= tuned["accuracy"] <= 1
    assert not (tmp_path / "outputs").exists()  # trials save no model

    metrics = tmp_path / "metrics.json"
    metrics.write_text(json.dumps({"HD_0": {}, "HD_1": _trial([0.9], 0.02, 5, 8, 12)}))
    monkeypatch.setenv(train.METRICS_ENV, str(metrics))
    full = train.main(["--models", "deeplearning", "--full_model", *common])
    assert full["mode"] == "full" and full["hyperparameters"]["hidden_size"] == 12
    assert "model_version" not in full  # an offline run registers nothing
    net, vocab, saved = model.load(str(tmp_path / "outputs/model.pt"))
    assert vocab.labels == sorted(TOPICS) and saved["best_trial"] == "HD_1"
    held_out = features.transform(features.read_corpus(test_dir), vocab)
    assert model.accuracy(net, held_out) == pytest.approx(full["accuracy"])

    metrics.write_text("{}")
    with pytest.raises(SystemExit, match="the HyperDrive step logged no accuracy"):
        train.main(["--full_model", *common])


def test_the_mode_follows_flags_metrics_and_named_inputs():
    def full(argv, inputs):
        return train._is_full(train.parse_args(argv), inputs)

    assert not full([], {"subset_train": "a", "subset_test": "b"})
    assert full([], {"train": "a", "test": "b"})
    assert full(["--full_model"], {}) and full(["--full_model", "yes"], {})
    assert not full(["--full_model", "no"], {})
    assert full(["--metrics", "m.json"], {"subset_train": "a"})
    with pytest.raises(SystemExit, match="needs --input_test or the named input 'subset_test'"):
        train._documents("tuning", train.parse_args([]), {"subset_train": os.sep})
