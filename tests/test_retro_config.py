"""The retro's config as models: parameters (library, notebook and ``-f params.yaml``), team notes and
``actions.yaml``. Unknown keys and bad values are one InputError (exit 2) naming the file, the line and the
field; nothing is dropped silently; YAML bombs are refused."""

from __future__ import annotations

import pytest

from hivepulse.errors import InputError
from hivepulse.report import sections as S
from hivepulse.retro.catalog import load_catalog
from hivepulse.retro.notes import load_notes
from hivepulse.retro.params import RetroParams, read_parameters_file

BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
    for p, c in zip("abcdefgh", "bcdefghi", strict=True))


def test_a_misspelt_parameter_is_rejected_not_ignored(tmp_path):
    # S.retro(envirnoment="staging") used to measure production silently
    with pytest.raises(InputError, match="column 'envirnoment': unknown parameter; expected source, path"):
        S.retro(envirnoment="staging", output_dir=str(tmp_path), findings="")
    with pytest.raises(InputError, match="column 'envirnoment': unknown parameter"):
        RetroParams(envirnoment="staging")  # type: ignore[call-arg]
    assert not list(tmp_path.iterdir())  # nothing was read or written


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"max_actions": "3"}, "column 'max_actions': bad max_actions: got '3'; expected an integer from 0 to 100"),
    ({"iteration_days": True},
     "column 'iteration_days': bad iteration_days: got 'True'; expected an integer from 1 to 366"),
    ({"iteration_days": 0}, "column 'iteration_days': bad iteration_days: got '0'; expected an integer from 1 to 366"),
    ({"iteration_days": 100000}, "bad iteration_days: got '100000'; expected an integer from 1 to 366"),
    ({"previous_iterations": -1}, "bad previous_iterations: got '-1'; expected an integer from 0 to 100"),
    ({"previous_iterations": 1000000000}, "bad previous_iterations: got '1000000000'; expected an integer from 0"),
    ({"max_actions": 101}, "bad max_actions: got '101'; expected an integer from 0 to 100"),
    ({"environment": 5}, "column 'environment': bad environment: got '5'; expected a string"),
    ({"source": "svn"}, "column 'source': unknown source: got 'svn'; expected events or git or store"),
    ({"source": "git", "path": "  "}, "column 'path': empty path"),
    ({"repository": "hive/box"}, "column 'repository': repository applies to source store only"),
    ({"allow_empty": "yes"}, "column 'allow_empty': bad allow_empty: got 'yes'; expected true or false"),
])
def test_bad_parameter_values_name_the_parameter(kwargs, message):
    with pytest.raises(InputError) as err:
        RetroParams(**kwargs)
    assert message in str(err.value)


def test_parameters_are_frozen_and_replaced_with_checks():
    params = RetroParams(max_actions=2)
    with pytest.raises(Exception):  # noqa: B017 (pydantic's frozen-instance error)
        params.max_actions = 5  # type: ignore[misc]
    assert params.replaced(tz="Europe/Berlin").tz == "Europe/Berlin"
    with pytest.raises(InputError, match="bad max_actions"):
        params.replaced(max_actions="x")  # type: ignore[arg-type]


def test_parameters_file_reads_yaml_types_as_the_parameters(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("since: 2026-04-27\ntier-edition: 2023\nmax_actions: 2\nnotes:\n", encoding="utf-8")
    assert read_parameters_file(str(path)) == {"since": "2026-04-27", "tier_edition": "2023", "max_actions": 2,
                                               "notes": ""}
    path.write_text("max_actions: 2.5\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"p.yaml, line 1, column 'max_actions': bad value: got '2.5'"):
        read_parameters_file(str(path))
    path.write_text("path: [a, b]\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"p.yaml, line 1, column 'path': bad value"):
        read_parameters_file(str(path))


@pytest.mark.parametrize("kind", ["params", "notes", "actions"])
def test_yaml_bombs_and_deep_nesting_are_refused_quickly(tmp_path, kind):
    path = tmp_path / f"{kind}.yaml"
    load = {"params": lambda: read_parameters_file(str(path)), "notes": lambda: load_notes(path),
            "actions": lambda: load_catalog(path)}[kind]
    path.write_text(BOMB, encoding="utf-8")  # 9^9 nodes once aliases are expanded
    with pytest.raises(InputError, match="expands to more than"):
        load()
    path.write_text("a: " + "[" * 200 + "]" * 200 + "\n", encoding="utf-8")
    with pytest.raises(InputError, match="nested deeper than"):
        load()


def test_notes_keys_that_are_not_read_are_named_not_dropped_silently(tmp_path):
    path = tmp_path / "n.yaml"
    path.write_text("to_improve:\n  - {text: Reviews wait, votes: 2, author: Somebody Named, mood: grumpy}\n",
                    encoding="utf-8")
    notes = load_notes(path)
    assert notes.ignored == ("author", "mood")
    assert notes.quality_notes() == ["Team notes: key(s) author, mood not read (a note has text, votes and "
                                     "metric; notes name no one)."]
    assert "Somebody" not in repr(notes.items)


def test_catalog_unknown_keys_and_bad_values_name_file_line_and_field(tmp_path):
    over = tmp_path / "actions.yaml"
    over.write_text("actions:\n  - id: review-pickup-time\n    efort: 1\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"actions.yaml, line 3, column 'review-pickup-time.efort': unknown field"):
        load_catalog(over)
    over.write_text("actions:\n  - id: review-pickup-time\n    effort: -1\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"line 3, column 'review-pickup-time.effort': bad effort: got '-1'"):
        load_catalog(over)
    over.write_text("actions:\n  - id: review-pickup-time\n\n    target: {rule: relative, chnage: 0.3}\n",
                    encoding="utf-8")
    with pytest.raises(InputError, match=r"line 4, column 'review-pickup-time.target': bad target"):
        load_catalog(over)
    over.write_text("actions:\n  - id: x\n    disabled: maybe\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"line 3, column 'x.disabled': bad disabled"):
        load_catalog(over)
    over.write_text("action:\n  - id: x\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"line 1, column 'action': unknown key"):
        load_catalog(over)
    over.write_text("actions:\n  - id: review-pickup-time\n    effort: 2\n", encoding="utf-8")
    entry = {e.id: e for e in load_catalog(over)}["review-pickup-time"]
    assert entry.effort == 2.0 and entry.target.rule == "relative" and entry.target.change == 0.5
