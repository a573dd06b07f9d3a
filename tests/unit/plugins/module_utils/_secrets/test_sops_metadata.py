""".sops.yaml rule matching and a sops file's age stanzas (module_utils._secrets.sops_metadata)."""

import pytest
import yaml

from ansible_collections.nixfleet.nixos.plugins.module_utils._secrets import sops_metadata as sm

# Recipients printed by age-keygen.


WEB = "age166jv64fz7jda3a3dgl0xkfwlcfymxq80lavy8284tzyjrn2aqadqzyk3gr"


DB = "age18dj5svdwwqw9792c8teagfqpu3tzj4ml6g084rw5ptew8r93vqasfck9hl"


ADMIN = "age1rj8gf26d7lhrp5m77cjphwhu6asxt7av0r2u9ujhngj5u8xeyausvk963r"


CONFIG = """
keys:
  - &admin %s
  - &web %s
creation_rules:
  - path_regex: secrets/web/.*\\.yaml$
    key_groups:
      - age: [*admin, *web]
  - path_regex: secrets/db\\.yaml$
    age: >-
      %s,
      %s
  - path_regex: ^common/
    age: [*admin, *web]
""" % (ADMIN, WEB, ADMIN, DB)


def test_first_matching_rule_decides():
    rules = sm.parse_config(yaml.safe_load(CONFIG))
    report = sm.coverage(rules, ["secrets/web/app.yaml", "secrets/db.yaml", "common/x.yaml", "other.yaml"], [WEB])
    assert [(c.file, c.covered) for c in report] == [
        ("secrets/web/app.yaml", True),
        ("secrets/db.yaml", False),
        ("common/x.yaml", True),
        ("other.yaml", False),
    ]
    assert (
        report[1].problem == "secrets/db.yaml: creation_rules[1] (path_regex secrets/db\\.yaml$) "
        "does not list the host's recipient"
    )
    assert report[3].problem == "other.yaml: no creation rule of .sops.yaml matches this file"
    assert sm.coverage(rules, ["secrets/db.yaml"], [DB])[0].covered


def test_rule_without_regex_matches_everything():
    rules = sm.parse_config({"creation_rules": [{"path_regex": "a$", "age": DB}, {"age": [WEB]}]})
    assert [getattr(sm.rule_for(rules, name), "index", None) for name in ("b", "a")] == [1, 0]


def test_malformed_config_is_a_clear_error():
    with pytest.raises(sm.SopsError, match="no creation_rules"):
        sm.parse_config({"keys": []})
    with pytest.raises(sm.SopsError, match=r"creation_rules\[0\]: path_regex"):
        sm.parse_config({"creation_rules": [{"path_regex": "(", "age": WEB}]})
    with pytest.raises(sm.SopsError, match="'age1typo!' is not a valid age recipient"):
        sm.parse_config({"creation_rules": [{"age": "age1typo!"}]})
    typo = WEB[:-1] + ("q" if WEB[-1] != "q" else "p")
    with pytest.raises(sm.SopsError, match="checksum"):
        sm.parse_config({"creation_rules": [{"age": [ADMIN, typo]}]})


def test_not_a_sops_file():
    with pytest.raises(sm.SopsError, match="no 'sops' metadata"):
        sm.age_stanzas({"a": 1}, "plain.yaml")
