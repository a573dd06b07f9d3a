# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters ssh_to_age, ssh_to_age_identity and age_recipients (documented in the .yml files beside)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.nixfleet.nixos.plugins.module_utils._secrets import age_keys


def _wrap(function, *args):
    try:
        return function(*args)
    except age_keys.AgeKeyError as exc:
        raise AnsibleFilterError(str(exc))


def ssh_to_age(public_key: str) -> str:
    """The age recipient (``age1…``) of an ssh-ed25519 public key line."""
    return _wrap(age_keys.ssh_to_age_recipient, public_key)


def ssh_to_age_identity(private_key: str) -> str:
    """The age identity (``AGE-SECRET-KEY-1…``) of an OpenSSH ed25519 private key."""
    return _wrap(age_keys.ssh_to_age_identity, private_key).encode()


def age_recipients(identities: str) -> list:
    """The recipients of every identity in an age identity file's text."""
    return _wrap(age_keys.recipients_of, identities, "the identities")


class FilterModule:
    def filters(self):
        return {"ssh_to_age": ssh_to_age, "ssh_to_age_identity": ssh_to_age_identity, "age_recipients": age_recipients}
