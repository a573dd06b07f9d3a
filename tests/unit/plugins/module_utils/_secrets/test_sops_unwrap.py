"""The decryptability verdict (module_utils._secrets.sops_unwrap), on files sealed with the real age."""

import pytest
import yaml
from sops_files import age_keygen, write_sops_file

from ansible_collections.nixfleet.nixos.plugins.module_utils._secrets import age_keys
from ansible_collections.nixfleet.nixos.plugins.module_utils._secrets import sops_metadata as sm
from ansible_collections.nixfleet.nixos.plugins.module_utils._secrets.sops_unwrap import check_file

# Recipients printed by age-keygen.


@pytest.mark.host_tools
def test_decryptable_only_with_the_right_identity(tmp_path):
    mine = tmp_path / "mine.txt"
    other = tmp_path / "other.txt"
    mine_r, other_r = age_keygen(mine), age_keygen(other)
    secrets = tmp_path / "s.yaml"
    write_sops_file(secrets, [other_r, mine_r])
    stanzas = sm.age_stanzas(yaml.safe_load(secrets.read_text()), str(secrets))
    verdict = check_file(stanzas, age_keys.parse_identity_file(mine.read_text()))
    assert verdict == {"decryptable": True, "recipient": mine_r, "reason": "ok"}

    only_other = tmp_path / "o.json"
    write_sops_file(only_other, [other_r], fmt="json")
    stanzas = sm.age_stanzas(yaml.safe_load(only_other.read_text()), str(only_other))
    verdict = check_file(stanzas, age_keys.parse_identity_file(mine.read_text()))
    assert not verdict["decryptable"] and "not encrypted for %s" % mine_r in verdict["reason"]


@pytest.mark.host_tools
def test_stanza_that_names_the_host_but_was_sealed_for_another_key(tmp_path):
    mine, other = tmp_path / "mine.txt", tmp_path / "other.txt"
    mine_r, other_r = age_keygen(mine), age_keygen(other)
    secrets = tmp_path / "s.yaml"
    write_sops_file(secrets, [other_r])
    document = yaml.safe_load(secrets.read_text())
    document["sops"]["age"][0]["recipient"] = mine_r  # the label says mine, the seal is other's
    verdict = check_file(sm.age_stanzas(document, "s"), age_keys.parse_identity_file(mine.read_text()))
    assert not verdict["decryptable"] and "does not open" in verdict["reason"]
