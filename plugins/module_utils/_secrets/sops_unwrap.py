# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to nixfleet.nixos: no stable API, it may change in any release; do not import it from
# other collections or your own plugins.
"""Can these age identities unwrap a sops file's data key? A verdict, never the key."""

from __future__ import annotations

from typing import Any, Dict, List, Sequence

from ansible_collections.nixfleet.nixos.plugins.module_utils._secrets import age_file
from ansible_collections.nixfleet.nixos.plugins.module_utils._secrets.age_keys import Identity
from ansible_collections.nixfleet.nixos.plugins.module_utils._secrets.sops_metadata import AgeStanza

DATA_KEY_BYTES = 32  # sops' data key is a 256-bit AES key


def check_file(stanzas: List[AgeStanza], identities: Sequence[Identity]) -> Dict[str, Any]:
    """``{decryptable, recipient, reason}`` for one sops file's age stanzas.

    Only stanzas addressed to one of the identities' recipients are opened (as sops does); the
    unwrapped plaintext must be a 32-byte data key. A stanza that names the recipient but does
    not open (re-encrypted for another key, corrupted) is reported as such.
    """
    mine = {identity.recipient: identity for identity in identities}
    listed = [s for s in stanzas if s.recipient in mine]
    if not listed:
        return {
            "decryptable": False,
            "recipient": None,
            "reason": "the file is not encrypted for %s (it lists %d other recipients)"
            % (", ".join(sorted(mine)), len(stanzas)),
        }
    problems: List[str] = []
    for stanza in listed:
        try:
            plain = age_file.unwrap(age_file.dearmor(stanza.enc), [mine[stanza.recipient]])
        except (age_file.AgeFileError, age_file.NoMatchingIdentity) as exc:
            problems.append("the stanza for %s does not open: %s" % (stanza.recipient, exc))
            continue
        if len(plain) != DATA_KEY_BYTES:
            problems.append(
                "the stanza for %s holds %d bytes, not a %d-byte data key"
                % (stanza.recipient, len(plain), DATA_KEY_BYTES)
            )
            continue
        return {"decryptable": True, "recipient": stanza.recipient, "reason": "ok"}
    return {"decryptable": False, "recipient": None, "reason": "; ".join(problems)}
