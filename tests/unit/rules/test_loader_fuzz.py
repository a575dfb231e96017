"""Fuzzing the rule loader: mutated rule files never crash it.

Valid rule files (the repository's ``rules/``, ``examples/`` and one per rule type
below) are mutated — byte flips, truncation, key/value swaps, indentation changes,
type swaps, random unicode, deep nesting, non-text keys, tags, anchors and bounded
alias bombs — and each result is loaded with the real loader and linted as
``validate`` does. Every case must either load (and its fields be readable) or raise
ConfigError whose problems are one line each and name the file. The seed is fixed, so a failure reproduces:
the assertion message carries the case number and the file's text.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

from logalert.errors import ConfigError, Problem
from logalert.rules import lint, load_rule
from logalert.rules.fields_used import rule_fields

ROOT = Path(__file__).resolve().parents[3]
SEED = 20260512
CASES = 10_000

BASE = "name: r{n}\nindex: logs-*\ntimestamp_field: '@timestamp'\n"
PER_TYPE = [
    "type: any\nfilter:\n- query:\n    query_string:\n      query: 'level:ERROR AND NOT message:\"ok\"'\n"
    "alert:\n- slack:\n    slack_channel_override: '#ops'\nslack_webhook_url: https://hooks.example.com/a/b\n",
    "type: frequency\nnum_events: 3\ntimeframe:\n  minutes: 5\nquery_key: [host, user]\nuse_terms_query: true\n"
    "alert: [email]\nemail: [ops@example.com]\nrealert: {minutes: 0}\n",
    "type: flatline\nthreshold: 3\ntimeframe: {hours: 1}\nforget_keys: true\nquery_key: host\nalert: stdout\n",
    "type: spike\nspike_height: 2\nspike_type: up\ntimeframe: {minutes: 5}\nthreshold_cur: 3\nalert: stdout\n",
    "type: new_term\nfields: [host, [user, status]]\nterms_window_size: {days: 2}\nalert: stdout\n",
    "type: cardinality\ncardinality_field: user\nmax_cardinality: 5\ntimeframe: {minutes: 5}\nalert: stdout\n",
    "type: metric_aggregation\nmetric_agg_key: bytes\nmetric_agg_type: avg\nmax_threshold: 5\n"
    "buffer_time: {minutes: 30}\nalert: stdout\n",
    "type: spike_aggregation\nmetric_agg_key: bytes\nmetric_agg_type: avg\nspike_height: 2\nspike_type: up\n"
    "timeframe: {minutes: 10}\nalert: stdout\n",
    "type: percentage_match\nmatch_bucket_filter: [{term: {status: 500}}]\nmax_percentage: 5\nalert: stdout\n",
    "type: change\ncompare_key: status\nignore_null: true\nquery_key: host\ntimeframe: {hours: 1}\nalert: stdout\n",
    "type: blacklist\ncompare_key: user\nblacklist: [a, b]\nfilter:\n- term: {level: ERROR}\n"
    "- range: {status: {gte: 500}}\nalert:\n- post:\n    http_post_url: http://127.0.0.1:1/x\n",
    "type: whitelist\ncompare_key: user\nwhitelist: [a]\nignore_null: true\ninclude: [user, host]\n"
    "alert: [stdout]\nalert_subject: 'Bad {0}'\nalert_subject_args: [user]\n",
]

SCALARS = ["1", "-7", "3.5", "1e400", "0x1F", "~", "null", "true", "no", "yes", "on", "2024-01-01",
           "2024-01-01T10:00:00Z", "''", "'text'", '"\\u00e9\\t"', "[]", "{}", "[a, 1, ~]", "{a: 1}",
           "{minutes: -5}", "{minuts: 5}", "{minutes: 1e99}", "!!binary aGVsbG8=", "!!set {a, b}",
           "!!omap [a: 1]", "!!python/object:os.system x", "!custom x", "*missing", "&anchor x",
           "12345678901234567890123", ".nan", "-.inf", "|\n  block\n  text", ">\n  folded", "\"unterminated",
           "[unterminated", "{a: [1, {b: ", "x" * 300, "%", "@x", "`x`", "? complex", "!!int xx", "!!float x",
           "!!bool maybe", "!!timestamp soon", "!!map [a]", "!!seq {a: 1}", "!!null {a: 1}", "!!str {a: 1}",
           "!!set [a]", "!!pairs x", "!!omap {a: 1}", "!!merge x", "!!int 1e999", "!!binary '@@'"]
KEYS = ["1", "~", "null", "[a, b]", "{a: 1}", "yes", "2024-01-01", "3.5", "? [x]\n", "<<", "!!str 5", "'quoted'",
        "\"\\u0000\"", "é", "name", "type", "filter", "alert", "import", "index", "query_key", "timeframe"]
UNICODE = ["\u00e9", "\u202e", "\u200b", "\ufeff", "\U0001F525", "\u0000", "\u0007", "\u0085", "\u2028",
           "\ud800", "\uffff", "\t", "\r", "\r\n", "\x1b[31m", "ǅ", "\u0301", "漢字"]


def _corpus() -> list[str]:
    texts = [BASE.format(n=i) + body for i, body in enumerate(PER_TYPE)]
    for folder in ("rules", "examples"):
        texts += [p.read_text() for p in sorted((ROOT / folder).glob("*.yaml"))]
    return texts


# --- mutations: each takes (rng, text) and returns a new text --------------------------
def flip_bytes(rng: random.Random, text: str) -> str:
    data = bytearray(text.encode("utf-8", "surrogatepass"))
    for _ in range(rng.randint(1, 4)):
        if data:
            data[rng.randrange(len(data))] = rng.randrange(256)
    return data.decode("utf-8", "surrogateescape")


def truncate(rng: random.Random, text: str) -> str:
    return text[: rng.randrange(len(text) + 1)]


def swap_key_value(rng: random.Random, text: str) -> str:
    lines = text.split("\n")
    pairs = [i for i, line in enumerate(lines) if ": " in line]
    if pairs:
        i = rng.choice(pairs)
        indent = len(lines[i]) - len(lines[i].lstrip())
        key, _, value = lines[i].strip().partition(": ")
        lines[i] = " " * indent + f"{value}: {key}"
    return "\n".join(lines)


def reindent(rng: random.Random, text: str) -> str:
    lines = text.split("\n")
    i = rng.randrange(len(lines))
    change = rng.choice(["dedent", "indent", "tab", "odd"])
    if change == "dedent":
        lines[i] = lines[i].lstrip()
    elif change == "indent":
        lines[i] = " " * rng.randint(1, 6) + lines[i]
    elif change == "tab":
        lines[i] = "\t" + lines[i]
    else:
        lines[i] = " " + lines[i].lstrip() if lines[i].startswith("  ") else "   " + lines[i]
    return "\n".join(lines)


def swap_type(rng: random.Random, text: str) -> str:
    lines = text.split("\n")
    pairs = [i for i, line in enumerate(lines) if ":" in line]
    if pairs:
        i = rng.choice(pairs)
        key = lines[i].split(":", 1)[0]
        lines[i] = f"{key}: {rng.choice(SCALARS)}"
    return "\n".join(lines)


def add_unicode(rng: random.Random, text: str) -> str:
    for _ in range(rng.randint(1, 3)):
        pos = rng.randrange(len(text) + 1)
        text = text[:pos] + rng.choice(UNICODE) + text[pos:]
    return text


def nest(rng: random.Random, text: str) -> str:
    depth = rng.choice([3, 10, 30, 60, 62, 63, 64, 65, 80]) if rng.random() < 0.99 else rng.choice([200, 1200])
    kind = rng.choice(["list", "map", "bool"])
    if kind == "list":
        value = "[" * depth + "x" + "]" * depth
    elif kind == "map":
        value = "{a: " * depth + "1" + "}" * depth
    else:
        value = "[" + "{bool: {must: [" * depth + "{term: {a: 1}}" + "]}}" * depth + "]"
    key = rng.choice(["filter", "include", "query_key", "deep", "alert", "realert"])
    return text + f"\n{key}: {value}\n"


def alias_bomb(rng: random.Random, text: str) -> str:
    size = rng.random()  # mostly small or far over the limit; a few just under it (slow to process)
    levels, width = ((rng.randint(2, 4), rng.randint(2, 5)) if size < 0.5 else
                     (rng.randint(8, 12), rng.randint(5, 6)) if size < 0.97 else (rng.randint(5, 6), 7))
    lines = [f"b0: &b0 [{', '.join(['x'] * width)}]"]
    for i in range(1, levels):
        lines.append(f"b{i}: &b{i} [{', '.join([f'*b{i - 1}'] * width)}]")
    key = rng.choice(["filter", "include", "query_key", f"b{levels}", "alert"])
    lines.append(f"{key}: *b{levels - 1}")
    return text + "\n" + "\n".join(lines) + "\n"


def odd_key(rng: random.Random, text: str) -> str:
    lines = text.split("\n")
    pos = rng.randrange(len(lines) + 1)
    indent = rng.choice(["", "", "  ", "    "])
    lines.insert(pos, f"{indent}{rng.choice(KEYS)}: {rng.choice(SCALARS[:12])}")
    return "\n".join(lines)


def structure(rng: random.Random, text: str) -> str:
    choice = rng.randrange(8)
    if choice == 0:
        return text + "\n---\nname: second\n"
    if choice == 1:
        return "--- !!map\n" + text
    if choice == 2:
        return text + "\n...\n" + rng.choice(SCALARS)
    if choice == 3:
        return "base: &base {realert: {minutes: 1}}\n<<: *base\n" + text
    if choice == 4:
        return rng.choice(["import: nowhere.yaml\n", "import: [1, 2]\n", "import: .\n", "import: {a: b}\n"]) + text
    if choice == 5:
        return "%YAML 1.1\n---\n" + text
    if choice == 6:
        return text.replace(":", " :", 1)
    return "- " + text.replace("\n", "\n  ")


def splice(rng: random.Random, text: str, corpus: list[str]) -> str:
    other = rng.choice(corpus).split("\n")
    lines = text.split("\n")
    start = rng.randrange(len(other))
    lines[rng.randrange(len(lines)):rng.randrange(len(lines))] = other[start:start + rng.randint(1, 5)]
    return "\n".join(lines)


MUTATIONS = [flip_bytes, truncate, swap_key_value, reindent, swap_type, add_unicode, nest, alias_bomb, odd_key,
             structure]


SURROGATES = re.compile("[\ud800-\udfff]")


def _encode(text: str) -> bytes:
    """UTF-8, except that flipped bytes (decoded as surrogate escapes) are written back as
    the raw bytes and lone surrogates as their (invalid) UTF-8 form."""
    if not SURROGATES.search(text):
        return text.encode("utf-8")
    out = bytearray()
    for char in text:
        if "\udc80" <= char <= "\udcff":
            out.append(ord(char) - 0xDC00)
        else:
            out += char.encode("utf-8", "surrogatepass")
    return bytes(out)


def _check(problems: list[Problem], path: str, case: int, text: str) -> None:
    for problem in problems:
        line = str(problem)
        assert isinstance(problem, Problem), (case, text)
        assert len(line.splitlines()) == 1, f"case {case}: not one line: {line!r}\n{text!r}"
        assert line.startswith(path), f"case {case}: no file name: {line!r}\n{text!r}"


def test_the_corpus_loads(tmp_path, config):
    """The mutations start from valid rules (else they would only test error paths)."""
    for i, text in enumerate(_corpus()):
        path = tmp_path / f"rule{i}.yaml"
        path.write_text(text)
        load_rule(str(path), config)


def test_mutated_rule_files_load_or_fail_with_one_line_problems(tmp_path, config):
    rng = random.Random(SEED)
    corpus = _corpus()
    (tmp_path / "nowhere.yaml").write_text("realert: {minutes: 2}\n")
    path = tmp_path / "rule.yaml"
    loaded = refused = 0
    for case in range(CASES):
        text = rng.choice(corpus)
        for _ in range(rng.choice([1, 1, 2, 3])):
            mutation = rng.choice(MUTATIONS + [splice])
            text = mutation(rng, text, corpus) if mutation is splice else mutation(rng, text)
        path.write_bytes(_encode(text))
        try:
            _rule, warnings = load_rule(str(path), config)
        except ConfigError as exc:
            assert exc.problems, f"case {case}: ConfigError without problems\n{text!r}"
            _check(exc.problems, str(path), case, text)
            refused += 1
        except Exception as exc:  # noqa: BLE001 - the point of the test
            raise AssertionError(f"case {case}: {type(exc).__name__}: {exc}\n{text!r}") from exc
        else:
            _check(warnings, str(path), case, text)
            rule_fields(_rule)  # what validate --engine and test-rule read from a loaded rule
            loaded += 1
        try:
            found = lint.lint_file(str(path))
        except Exception as exc:  # noqa: BLE001
            raise AssertionError(f"case {case}: lint: {type(exc).__name__}: {exc}\n{text!r}") from exc
        _check(found, str(path), case, text)
    assert loaded + refused == CASES
    assert loaded > CASES // 20 and refused > CASES // 5  # the mutations reach both outcomes
