# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to nixfleet.nixos: no stable API, it may change in any release; do not import it from
# other collections or your own plugins.
"""The deploy transaction, for internal use by this collection only (no stable API): ``deploy.sh``
(the script that changes a host's generation, run detached on the target), ``protocol`` (its
verdicts and the confirmation's answers: one type every reader uses), ``command`` (the script's
inputs and the commands that launch, poll, confirm and clean up) and ``operations`` (those commands
with the parsers of their answers)."""
