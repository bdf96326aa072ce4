"""RunDetails' HTML (what Jupyter shows): the table and the portal link, escaped."""

from __future__ import annotations

from hyperpipe.widgets._run_details import Snapshot, _html


def test_the_html_table_holds_every_row_and_escapes_what_runs_logged():
    state = Snapshot(
        title="HyperDriveRun HD_1: Running",
        url="http://127.0.0.1:8765/runs/HD_1",
        columns=["Trial", "Status", "Best metric", "Hyperparameters"],
        rows=[["HD_1_0", "Completed", "0.9", '{"--lr": "<script>x</script>"}']],
        done=False,
    )
    page = _html(state)
    assert '<a href="http://127.0.0.1:8765/runs/HD_1" target="_blank">' in page
    assert "<th>Best metric</th>" in page
    assert "<td>HD_1_0</td><td>Completed</td><td>0.9</td>" in page
    assert "<script>" not in page and "&lt;script&gt;" in page
