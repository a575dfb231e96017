"""Global configuration (config.yaml + LOGALERT_* environment), YAML with line
numbers, and the JSON Schemas rule and config files are checked against."""

from logalert.config.settings import Config, load_config

__all__ = ["Config", "load_config"]
