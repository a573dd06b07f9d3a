# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to nixfleet.nixos: no stable API, it may change in any release; do not import it from
# other collections or your own plugins.
"""A host's generations: probing them, switching, inhibitors, reboot, health, retention, garbage collection, the audit
log, the copy lock, Nix profiles."""
