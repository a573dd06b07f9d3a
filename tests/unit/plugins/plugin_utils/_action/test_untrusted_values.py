"""plugin_utils/_action/untrusted_values.py: values from a flake reach the inventory as data. A string that
could be a Jinja template (braces) stays untrusted, so Ansible never renders it; others are trusted."""

from ansible.template import is_trusted_as_template

from ansible_collections.nixfleet.nixos.plugins.plugin_utils._action.untrusted_values import (
    could_be_template,
    inventory_value,
)


def test_braces_are_what_could_be_a_template():
    assert could_be_template("{{ lookup('pipe', 'id') }}") and could_be_template("{% if %}") and could_be_template("}")
    assert not could_be_template("nixos-24.05 $HOME `id` 'quoted'")


def test_strings_with_braces_stay_untrusted_at_every_depth():
    hostile = "{{ lookup('pipe', 'touch /tmp/pwned') }}"
    value = inventory_value({"a": hostile, "list": ["plain", hostile], "nested": {"x": hostile}, 7: "seven"})
    assert value["a"] == hostile and not is_trusted_as_template(value["a"])
    assert not is_trusted_as_template(value["list"][1]) and not is_trusted_as_template(value["nested"]["x"])
    assert is_trusted_as_template(value["list"][0]) and value["list"][0] == "plain"
    assert value["7"] == "seven"  # keys become strings, as in JSON


def test_other_values_pass_unchanged():
    assert inventory_value((1, True, None, 2.5)) == [1, True, None, 2.5]
    assert inventory_value([]) == [] and inventory_value({}) == {}
