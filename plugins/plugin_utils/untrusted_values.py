# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Values read from a flake, made safe for Ansible and printed as plain JSON.

A flake string must never be rendered as a template (``{{ lookup('pipe', …) }}`` in a tag or a
host name would run on the controller), and ``ansible-inventory --list --export`` (what an AWX
inventory update stores) must print plain values: AWX stores ``{"__ansible_unsafe": …}`` as a dict
(community.general#8212, vmware.vmware#283). The rule, as community.general's: a string that could
hold a template (a ``{`` or ``}``: every Jinja delimiter has one) is marked untrusted; every other
string is plain. What "plain" means depends on ansible-core:

* before 2.19 every string is a template unless wrapped unsafe: other strings stay as they are;
* 2.19 and newer (data tagging) never template an untrusted string, and ``ansible-inventory``
  prints every untrusted string as ``__ansible_unsafe``: other strings are tagged trusted
  (``trust_as_template``), harmless for a string with no template syntax, so they print plain;
  strings that could be templates stay untrusted.
"""

from __future__ import annotations

import re
from typing import Any

from ansible.utils.unsafe_proxy import wrap_var

try:  # ansible-core 2.19+
    from ansible.template import trust_as_template
except ImportError:  # older: strings are trusted unless wrapped
    def trust_as_template(value: str) -> str:
        return value

TEMPLATE_CHARS = re.compile(r"[{}]")


def could_be_template(value: str) -> bool:
    return bool(TEMPLATE_CHARS.search(value))


def make_untrusted(value: Any) -> Any:
    """``value`` (JSON-shaped data from Nix) ready for ``inventory.set_variable``."""
    if isinstance(value, dict):
        return {make_untrusted(k): make_untrusted(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [make_untrusted(v) for v in value]
    if isinstance(value, str):
        return wrap_var(value) if could_be_template(value) else trust_as_template(value)
    return value
