"""Every option ElastAlert2 documents is known to logalert: implemented, accepted with a
one-line "not implemented: … use …" warning, or an option of an ElastAlert2 notifier
logalert refuses with an Apprise/post2 suggestion. The names (tests/unit/fixtures/
ea2_options.yaml, written by us from ElastAlert2's documentation) are held against the
registry, so a gap fails here with the list of names instead of surfacing as a rule that
loads and silently behaves differently."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest
import yaml

from logalert import options as registry
from logalert import ruletypes
from logalert.config import settings
from logalert.config.settings import load_config
from logalert.notify import alerters, foreign
from logalert.options import Option
from logalert.rules import catalog, load_rule

DOCUMENTED = yaml.safe_load((Path(__file__).parent / "fixtures" / "ea2_options.yaml").read_text(encoding="utf-8"))



def _one_line_warning(option: Option) -> bool:
    text = option.warning()
    return "\n" not in text and len(option.unimplemented.strip()) > 10


def _known(name: str, declared: dict[str, Option]) -> bool:
    """Declared where it is documented; when accepted but not implemented, its warning
    is one line that says what is not done."""
    option = declared.get(name)
    return option is not None and (option.implemented or _one_line_warning(option))


def _gaps() -> Iterator[tuple[str, str]]:
    """(section, name) for every documented name logalert does not know there."""
    config = dict(settings.OPTIONS)
    for name in DOCUMENTED["config"]:
        if not _known(name, config):
            yield "config.yaml", name
    core = dict(catalog.rule_options(None))
    for name in DOCUMENTED["rule"] + DOCUMENTED["alerts"]:
        # A config-only option in a rule warns "a config.yaml option; it has no effect in a rule".
        if not _known(name, core) and name not in catalog.CONFIG_ONLY:
            yield "rule", name
    for type_name, names in DOCUMENTED["ruletypes"].items():
        assert type_name in ruletypes.RULE_TYPES
        own = dict(catalog.rule_options(type_name))
        yield from ((f"type {type_name}", n) for n in names if not _known(n, own))
    for alerter, names in DOCUMENTED["alerters"].items():
        assert alerters.known(alerter)
        own = {**catalog.rule_options(None), **catalog.alerter(alerter).options}
        yield from ((f"alerter {alerter}", n) for n in names if not _known(n, own))
    for notifier, names in DOCUMENTED["foreign"].items():
        assert not alerters.known(notifier) and foreign.instead(notifier), f"{notifier}: no replacement advice"
        for name in names:
            found = foreign.owner(name)
            if name not in catalog.every_option() and (found is None or found.name != notifier):
                yield f"foreign {notifier}", name


def test_every_documented_elastalert2_option_is_known():
    missing = sorted({f"{section}: {name}" for section, name in _gaps()})
    assert not missing, f"{len(missing)} ElastAlert2 option(s) unknown to logalert:\n" + "\n".join(missing)


def test_no_option_is_declared_twice_in_the_registry():
    names = [o.name for o in registry.OPTIONS]
    assert sorted(n for n in set(names) if names.count(n) > 1) == []


def test_foreign_prefixes_claim_no_option_logalert_declares():
    claimed = sorted(n for n in catalog.every_option() if foreign.owner(n) is not None)
    assert claimed == []


# --- what a user sees -------------------------------------------------------------------
def _rule(tmp_path, body: str) -> Path:
    path = tmp_path / "r.yaml"
    path.write_text("name: r\ntype: any\nindex: logs-*\n" + body)
    return path


def test_an_unimplemented_option_warns_in_one_line_with_file_line_and_option(tmp_path, config):
    _, warnings = load_rule(str(_rule(tmp_path, "alert: [stdout]\nrun_enhancements_first: true\n")), config)
    (warning,) = [w for w in warnings if w.option == "run_enhancements_first"]
    assert (warning.line, warning.fatal) == (5, False)
    assert "not implemented" in warning.message and "\n" not in str(warning)


def test_a_foreign_notifiers_option_points_to_its_replacement(tmp_path, config):
    _, warnings = load_rule(str(_rule(tmp_path, "alert: [stdout]\ndingtalk_access_token: abc\n")), config)
    (warning,) = warnings
    assert warning.option == "dingtalk_access_token"
    assert "'dingtalk' notifier" in warning.message and "apprise_urls: ['dingtalk://…']" in warning.message
    assert "unknown option" not in warning.message


def test_a_name_elastalert2_does_not_have_stays_unknown_with_did_you_mean(tmp_path, config):
    _, warnings = load_rule(str(_rule(tmp_path, "alert: [stdout]\nrealret: {minutes: 1}\n")), config)
    (warning,) = warnings
    assert warning.message == "unknown option, ignored; did you mean 'realert'?"


def test_an_elastalert2_config_loads_with_a_warning_per_unimplemented_option(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("rules_folder: rules\nes_host: es.example.com\nwriteback_index: elastalert_status\n"
                    "max_scrolling_count: 5\nstring_multi_field_name: .raw\nrules_loader: file\n"
                    "run_every: {minutes: 1}\nbuffer_time: {minutes: 15}\nalert_time_limit: {days: 2}\n")
    loaded = load_config(str(path))
    assert loaded["es_host"] == "es.example.com"
    warned = {w.option: w for w in loaded.warnings}
    assert set(warned) == {"max_scrolling_count", "string_multi_field_name", "rules_loader"}
    assert all("not implemented" in w.message and w.line for w in warned.values())


@pytest.mark.parametrize("name", [o.name for o in registry.OPTIONS if o.unimplemented])
def test_every_unimplemented_text_is_one_line(name):
    assert _one_line_warning(registry.BY_NAME[name])


@pytest.mark.parametrize("rule_type", sorted(DOCUMENTED["ruletypes"]))
def test_validate_on_a_rule_with_every_documented_option_says_no_unknown_option(rule_type, tmp_path, capsys,
                                                                                 monkeypatch, restore_root_logging):
    """The user's view of the inventory: ``logalert validate`` on a rule of this type that
    sets every option ElastAlert2 documents for rules, alerts, this type and every
    notifier logalert has. Values are valid per option (some combinations are not, and
    are reported as such), but no name is ``unknown option``."""
    from logalert.cli import main
    from tests.unit.rules.test_options import sample

    monkeypatch.chdir(tmp_path)
    own = dict(catalog.rule_options(rule_type))
    for alerter in DOCUMENTED["alerters"]:
        own.update(catalog.alerter(alerter).options)
    names = DOCUMENTED["rule"] + DOCUMENTED["alerts"] + DOCUMENTED["ruletypes"][rule_type] + [
        n for section in DOCUMENTED["alerters"].values() for n in section]
    rule = {}
    for name in names:
        if name == "import":  # needs a file to read
            continue
        try:  # a name logalert lost must still be in the file, and be reported
            rule[name] = sample(own[name]) if name in own else "x"
        except AssertionError:  # no generic sample for this shape: a string still tests the name
            rule[name] = "x"
    rule.update(name="every option", type=rule_type, index="logs-*", alert=sorted(DOCUMENTED["alerters"]))
    path = tmp_path / "every.yaml"
    path.write_text(yaml.safe_dump(rule), encoding="utf-8")
    main(["validate", str(path)])
    out = capsys.readouterr()
    assert "warning: " in out.out + out.err  # the not-implemented ones say so
    assert "unknown option" not in out.out + out.err
