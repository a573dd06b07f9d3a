# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to nixfleet.nixos: no stable API, it may change in any release; do not import it from
# other collections or your own plugins.
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

So only a string that could be a template prints as ``{"__ansible_unsafe": …}``: ``--export`` must
keep the marking for the value to stay safe when it is read back, and no real host address, user,
port, tag or flake ref holds a brace.
"""

from __future__ import annotations

import re
from typing import Any

TEMPLATE_CHARS = re.compile(r"[{}]")


def could_be_template(value: str) -> bool:
    return bool(TEMPLATE_CHARS.search(value))


try:  # ansible-core 2.19+: an inventory string is untrusted unless tagged otherwise
    from ansible.template import trust_as_template

    def _string(value: str) -> str:
        return value if could_be_template(value) else trust_as_template(value)
except ImportError:  # older: every string is a template unless marked unsafe
    from ansible.utils.unsafe_proxy import wrap_var

    def _string(value: str) -> str:
        return wrap_var(value) if could_be_template(value) else value


def inventory_value(value: Any) -> Any:
    """``value`` (a string, number, list or attribute set from Nix) ready for ``inventory.set_variable``."""
    if isinstance(value, (list, tuple)):
        return [inventory_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): inventory_value(v) for k, v in value.items()}
    if isinstance(value, str):
        return _string(value)
    return value
