"""The results document as a person reads it."""

from autograder.results import render_table


def result_with(output: str) -> dict:
    test = {"name": "t", "score": 0, "max_score": 5, "status": "failed", "visibility": "visible",
            "output": output}
    return {"tests": [test], "output": "Score: 0/5 (0 of 1 tests passed)."}


def test_a_long_single_line_failure_is_shown_in_full_below_the_table():
    message = "perceptron_predict(X, w, b): 2 of 3 values differ; " + "x" * 200
    text = render_table(result_with(message), width=100)
    assert message in text
    assert text.splitlines()[2].endswith("...")


def test_a_short_failure_is_not_repeated():
    text = render_table(result_with("w has shape (3, 1); expected shape (3,)"))
    assert text.count("expected shape (3,)") == 1
