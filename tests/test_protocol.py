"""Protocol loading, validation and fingerprint."""
from __future__ import annotations

import re
import subprocess
import sys

import pytest

from trial.exceptions import ProtocolError
from trial.protocol import canonical_json, fingerprint, load, loads

from .conftest import PROTOCOL

TEXT = PROTOCOL.read_text(encoding="utf-8")


def test_shipped_protocol_loads(protocol):
    assert protocol.trial.id == "BI25-RF-2016"
    assert protocol.capacity == 100
    assert protocol.control_size == 300
    assert [e.id for e in protocol.primary_endpoints] == ["extension", "ordinary_employment", "fleksjob"]
    assert protocol.status_map["RFY"] == "ressourceforloebsydelse"
    assert re.fullmatch(r"[0-9a-f]{64}", protocol.fingerprint)
    assert protocol.endpoint("ordinary_employment").goal_value == pytest.approx(0.10)


def test_objects_are_frozen(protocol):
    with pytest.raises(AttributeError):
        protocol.allocation.seed = 1
    with pytest.raises(TypeError):
        protocol.status_map["XXX"] = "andet"


def test_fingerprint_ignores_layout_comments_and_key_order():
    # Same protocol written differently: comments stripped, blank lines removed,
    # the top-level tables reordered, inline spacing changed.
    no_comments = "\n".join(line.split(" #")[0].rstrip() if not line.lstrip().startswith("#") else ""
                            for line in TEXT.splitlines())
    compact = "\n".join(line for line in no_comments.splitlines() if line.strip())
    compact = compact.replace(" = ", "=")
    # move [trial] table after the rest: split at the first [[arms]]
    head, rest = compact.split("[[arms]]", 1)
    pre, trial_tbl = head.split("[trial]", 1)
    reordered = pre + "[[arms]]" + rest + "\n[trial]" + trial_tbl
    assert loads(reordered).fingerprint == load(PROTOCOL).fingerprint


def test_fingerprint_changes_with_any_value():
    changed = TEXT.replace("seed = 20161001", "seed = 20161002")
    assert loads(changed).fingerprint != load(PROTOCOL).fingerprint


def test_fingerprint_is_sha256_of_canonical_json():
    data = {"b": [1, 2], "a": {"y": 1.5, "x": "æ"}}
    assert canonical_json(data) == '{"a":{"x":"æ","y":1.5},"b":[1,2]}'
    import hashlib

    assert fingerprint(data) == hashlib.sha256(canonical_json(data).encode()).hexdigest()


# Each case: (replace this, with that) -> the key the error must name and a phrase of the message.
BAD = [
    ("schema_version = 1", "schema_version = 2", "schema_version", "must be 1"),
    ('scheme = "permuted_blocks"', 'scheme = "urn"', "allocation.scheme", "'permuted_blocks'"),
    ("ratio = 3", "ratio = -1", "allocation.ratio", "above 0; got -1"),
    ("block_sizes = [4, 8]", "block_sizes = [4, 6]", "allocation.block_sizes", "multiple of 1 + ratio = 4; got 6"),
    ('when_full = "stop"', 'when_full = "pause"', "allocation.when_full", "'control_only'"),
    ("seed = 20161001", 'seed = "abc"', "allocation.seed", "whole number"),
    ("capacity = 100", "capacity = 0", "arms[0].capacity", "at least 1"),
    ("treatment = false", "treatment = true", "arms", "exactly one arm"),
    ('type = "binary"\nrule = "event_any"\nevents = ["forloeb_extension"]',
     'type = "count"\nrule = "event_any"\nevents = ["forloeb_extension"]', "endpoints[0].type", "gives a 'binary'"),
    ('events = ["forloeb_extension"]', 'events = ["new_forloeb"]', "endpoints[0].events", "'forloeb_extension'"),
    ("control_value = 0.50", "control_value = 1.5", "endpoints[0].control_value", "between 0 and 1"),
    ('direction = "decrease"\nrole = "primary"\nhierarchy = 1',
     'direction = "increase"\nrole = "primary"\nhierarchy = 1', "endpoints[0].goal", "opposite to direction"),
    ('role = "primary"\nhierarchy = 3', 'role = "primary"\nhierarchy = 4', "endpoints", "without gaps"),
    ('id = "fleksjob"', 'id = "extension"', "endpoints[2].id", "unique"),
    ('role = "exploratory"\nhierarchy = 0\n\n[[endpoints]]\nid = "self_rated',
     'role = "confirmatory"\nhierarchy = 0\n\n[[endpoints]]\nid = "self_rated', "endpoints[9].role", "'primary'"),
    ('RFY = "ressourceforloebsydelse"', 'RFY = "ressourceforloeb"', "status_map.RFY", "must map to one of"),
    ("alpha = 0.05", "alpha = 5", "analysis.alpha", "at most 0.5"),
    ('multiplicity = "fixed_sequence"', 'multiplicity = "hochberg"', "analysis.multiplicity", "'holm'"),
    ('primary_estimator = "difference_in_means"', 'primary_estimator = "t_test"', "analysis.primary_estimator",
     "'difference_in_means'"),
    ('analysis_date = "2020-06-30"', 'analysis_date = "2016-06-30"', "trial.analysis_date", "must come after"),
    ('registered = "2016-09-30"', 'registered = "30-09-2016"', "trial.registered", "YYYY-MM-DD"),
    ("min_cell = 5", "min_cell = 2", "report.min_cell", "at least 3"),
    ('first_quarter = "2016Q4"', 'first_quarter = "Q4-2016"', "report.first_quarter", "like 2017Q1"),
    ("horizon_weeks = 156\ncontrol_value = 0.50", "horizon_weeks = 200\ncontrol_value = 0.50",
     "endpoints[0].horizon_weeks", "at most analysis.follow_up_weeks"),
    ('[eligibility]\nmin_age = 18', '[eligibility]\nminimum_age = 18\nmin_age = 18', "eligibility.minimum_age",
     "not a known key"),
    ("breaks = [18, 30, 50, 65]", "breaks = [18, 50, 30, 65]", "strata[0].breaks", "increasing"),
    ('covariates = ["age", "prior_forloeb", "months_on_benefit", "psych_contact_12m"]',
     'covariates = ["age", "income"]', "analysis.covariates", "'income'"),
    ("sd = 30.0", "sd = -30.0", "endpoints[3].sd", "above 0"),
    ("dispersion = 1.0", "dispersion = -1", "endpoints[7].dispersion", "at least 0"),
    ('goal = -0.15                         # 15 fewer of 100 (50 -> 35 %)',
     'goal = -0.15\nsd = 0.5', "endpoints[0].sd", "continuous and count endpoints only"),
]


@pytest.mark.parametrize("old,new,key,phrase", BAD, ids=[b[2] + ":" + b[3][:20] for b in BAD])
def test_invalid_protocols_are_rejected_with_key_and_values(old, new, key, phrase):
    assert TEXT.count(old) >= 1, f"test case out of date: {old!r} not in protocol"
    bad = TEXT.replace(old, new, 1)
    with pytest.raises(ProtocolError) as info:
        loads(bad, path="bad.toml")
    assert info.value.key == key, str(info.value)
    assert phrase in info.value.message, str(info.value)
    assert str(info.value).startswith("bad.toml: `" + key + "`")


def test_missing_required_key():
    bad = TEXT.replace('title_da = "Sundhed, social mobilitet og beskæftigelse for borgere i ressourceforløb"\n', "")
    with pytest.raises(ProtocolError, match=r"`trial.title_da`: is required but missing"):
        loads(bad)


def test_not_toml():
    with pytest.raises(ProtocolError, match="not valid TOML"):
        loads("this is = = not toml")


def test_cli_check_and_show(tmp_path):
    def run(*args):
        return subprocess.run([sys.executable, "-m", "trial.cli", *args], capture_output=True, text=True)

    ok = run("protocol", "check", str(PROTOCOL))
    assert ok.returncode == 0, ok.stderr
    assert load(PROTOCOL).fingerprint in ok.stdout
    bad_file = tmp_path / "bad.toml"
    bad_file.write_text(TEXT.replace("ratio = 3", "ratio = -1"), encoding="utf-8")
    bad = run("protocol", "check", str(bad_file), "--json")
    assert bad.returncode == 2
    import json

    payload = json.loads(bad.stdout)
    assert payload["valid"] is False and payload["key"] == "allocation.ratio"
    shown = run("protocol", "show", str(PROTOCOL), "--json")
    assert shown.returncode == 0
    assert json.loads(shown.stdout)["fingerprint"] == load(PROTOCOL).fingerprint
    missing = run("protocol", "check", str(tmp_path / "nope.toml"))
    assert missing.returncode == 2
