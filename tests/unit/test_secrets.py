"""Secrets never printed: mask(), mask_value(), MaskingFilter on log records."""

from __future__ import annotations

import logging
import sys

from logalert import secrets
from logalert.secrets import MASK, MaskingFilter, mask, mask_value, register, register_options

HOOK = "https://hooks.slack.com/services/T0MASK01/B0MASK01/maskSecretToken01"
HOOK_PATH = "/services/T0MASK01/B0MASK01/maskSecretToken01"


def test_mask_registered_webhook_url():
    register(HOOK)
    assert mask(f"POST {HOOK} failed") == "POST <secret> failed"


def test_mask_the_path_alone_as_libraries_quote_it():
    register(HOOK)
    text = f"HTTPSConnectionPool(host='hooks.slack.com', port=443): Max retries exceeded with url: {HOOK_PATH} (Caused by X)"
    assert mask(text) == ("HTTPSConnectionPool(host='hooks.slack.com', port=443): "
                          "Max retries exceeded with url: <secret> (Caused by X)")


def test_url_query_string_is_part_of_the_secret():
    register("https://example.com/hook?token=qsSecret991")
    assert mask("GET /hook?token=qsSecret991 -> 403") == "GET <secret> -> 403"
    assert mask("https://example.com/hook?token=qsSecret991") == MASK


def test_register_list_and_ignore_short_or_non_strings():
    register(["first-secret-aa1", "second-secret-bb2", 12345, "ab"])
    assert mask("first-secret-aa1 and second-secret-bb2, 12345, ab") == "<secret> and <secret>, 12345, ab"


def test_register_options_picks_secret_names_only():
    register_options({"es_password": "pw-opt-5521", "my_api_key": "key-opt-5521", "bot_token": "tok-opt-5521",
                      "es_host": "es-host-opt-5521"})
    assert mask("pw-opt-5521 key-opt-5521 tok-opt-5521 es-host-opt-5521") == "<secret> <secret> <secret> es-host-opt-5521"


def test_a_secret_mapping_masks_its_credential_entries_only():
    """ElastAlert2's hive_connection holds the API key inside a mapping."""
    register_options({"hive_connection": {"hive_host": "hive-host-7731", "hive_apikey": "hive-key-7731",
                                          "hive_port": 9000}})
    assert mask("hive-host-7731 hive-key-7731") == "hive-host-7731 <secret>"


def test_mask_value_for_printing_options():
    assert mask_value("es_password", "x") == MASK  # a secret in the option registry
    assert mask_value("telegram_bot_token", "x") == MASK  # an ElastAlert alerter's, which logalert lacks
    assert mask_value("smtp_password", "x") == MASK
    assert mask_value("custom_secret", "x") == MASK
    assert mask_value("es_host", "localhost") == "localhost"


def _record(msg, args=(), exc_info=None):
    return logging.LogRecord("logalert.test", logging.ERROR, __file__, 1, msg, args, exc_info)


def test_masking_filter_masks_message_args():
    register(HOOK)
    record = _record("slack %s answered %d", (HOOK, 500))
    assert MaskingFilter().filter(record) is True
    assert record.getMessage() == "slack <secret> answered 500"
    assert record.args == ()


def test_masking_filter_masks_exception_text():
    register(HOOK)
    try:
        raise ConnectionError(f"Max retries exceeded with url: {HOOK_PATH}")
    except ConnectionError:
        record = _record("send failed for %s", (HOOK,), sys.exc_info())
    MaskingFilter().filter(record)
    assert record.exc_info is None
    assert "Traceback (most recent call last)" in record.exc_text
    assert "ConnectionError: Max retries exceeded with url: <secret>" in record.exc_text
    assert "maskSecretToken01" not in record.exc_text
    formatted = logging.Formatter("%(message)s").format(record)
    assert formatted.startswith("send failed for <secret>\nTraceback")
    assert "maskSecretToken01" not in formatted


def test_install_logging_masks_everything_written(capsys, restore_root_logging):
    register(HOOK)
    from logalert import logformat

    logformat.install()
    logging.getLogger("logalert.x").error("posting to %s", HOOK)
    err = capsys.readouterr().err
    assert "posting to <secret>" in err
    assert "maskSecretToken01" not in err


def test_secret_options_declared_by_a_notifier_are_masked_once_declared():
    assert mask_value("hook_address_x1", HOOK) == HOOK
    secrets.declare(["hook_address_x1"])
    assert mask_value("hook_address_x1", HOOK) == MASK
    register_options({"hook_address_x1": "https://example.com/declared-secret-4411"})
    assert mask("GET https://example.com/declared-secret-4411") == "GET <secret>"



def test_a_webhook_url_in_config_yaml_is_masked_before_any_rule_is_loaded(tmp_path):
    from logalert import secrets
    from logalert.config import load_config

    config = tmp_path / "config.yaml"
    config.write_text("slack_webhook_url: https://hooks.slack.com/services/T0CFG/B0CFG/configOnly77\n")
    load_config(str(config), environ={})
    assert secrets.mask("posting to https://hooks.slack.com/services/T0CFG/B0CFG/configOnly77") == "posting to <secret>"
