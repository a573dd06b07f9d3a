"""The deploy gate's rules: read from option values and from a JSON document, refused with the
place named; a system's denied versions found with their chains (Nix's real graph output), let
through by an exception only on its hosts and until its date; and the deploy report shows them."""

import datetime

import pytest

from ansible_collections.nixfleet.nixos.plugins.module_utils._supply_chain import closure_graph as cg
from ansible_collections.nixfleet.nixos.plugins.module_utils._reports import deploy_report as dr
from ansible_collections.nixfleet.nixos.plugins.module_utils._supply_chain import package_gate as pg
from recorded_outputs import RECORDED_OUTPUTS

OUTPUTS = RECORDED_OUTPUTS / "2.8.0"
TODAY = datetime.date(2026, 6, 1)


def recorded():
    old, new = (OUTPUTS / "graph-roots.txt").read_text().split()
    return cg.parse_dot((OUTPUTS / "graph.txt").read_text()), old, new


def test_rules_from_options_and_from_a_document():
    rules = pg.policy(
        ["openssl<3.0.14", {"name": "xz", "version": ">=5.6.0,<=5.6.1", "id": "CVE-2024-3094", "reason": "backdoor"}],
        [
            {
                "name": "openssl",
                "version": "==3.0.13",
                "expires": "2026-12-31",
                "reason": "isolated",
                "hosts": ["web-01"],
            }
        ],
        {
            "deny": [{"package": "curl", "version": "<8"}],
            "allow": [{"name": "curl", "expires": datetime.date(2027, 1, 1), "reason": "r"}],
        },
        "feed.json",
    )
    assert [str(r.spec) for r in rules.deny] == ["openssl <3.0.14", "xz >=5.6.0,<=5.6.1", "curl <8"]
    assert rules.deny[1].describe() == "xz >=5.6.0,<=5.6.1 (CVE-2024-3094, backdoor)"
    assert [(str(a.spec), a.expires, a.hosts) for a in rules.allow] == [
        ("openssl ==3.0.13", datetime.date(2026, 12, 31), ("web-01",)),
        ("curl", datetime.date(2027, 1, 1), ()),
    ]
    assert pg.policy([], [], ["zlib<1.3"], "f").deny[0].spec.name == "zlib"  # a list: deny rules


@pytest.mark.parametrize(
    "deny, allow, document, said",
    [
        ([42], [], None, "deny_packages[0]: a rule is a text"),
        (["openssl 3"], [], None, "deny_packages[0] 'openssl 3': after the name, a version constraint"),
        ([{"name": "openssl", "versions": "<3"}], [], None, "deny_packages[0]: unknown keys versions"),
        ([{"version": "<3"}], [], None, "deny_packages[0]: name (the package) is required"),
        ([], [{"name": "openssl", "reason": "r"}], None, "allow_packages[0]: expires is required"),
        ([], [{"name": "openssl", "expires": "next year", "reason": "r"}], None, "expires must be a date"),
        ([], [{"name": "openssl", "expires": "2026-01-01"}], None, "allow_packages[0]: reason is required"),
        (
            [],
            [{"name": "openssl", "expires": "2026-01-01", "reason": "r", "hosts": "web"}],
            None,
            "hosts must be a list",
        ),
        ([], ["openssl"], None, "allow_packages[0]: an exception is"),
        ([], [], {"deny": [], "extra": []}, "feed.json: want"),
        ([], [], {"deny": [{"name": "a", "reason": "x\ny"}]}, "feed.json deny[0]: reason must be text"),
        ("openssl", [], None, "are lists"),
    ],
)
def test_bad_rules_are_refused_naming_where(deny, allow, document, said):
    with pytest.raises(pg.PolicyError, match=None) as caught:
        pg.policy(deny, allow, document, "feed.json")
    assert said in str(caught.value)


def test_denied_versions_are_found_with_their_chains():
    graph, old, new = recorded()
    verdict = pg.check("web-01", graph, new, pg.policy(["openssl<3.0.14"], []), TODAY)
    assert [f.match.package.path.split("-", 1)[1] for f in verdict.refused] == ["openssl-3.0.13", "openssl-3.0.13-bin"]
    first = verdict.refused[0].describe()
    assert first.startswith("openssl 3.0.13 is denied by openssl <3.0.14; pulled in by nixos-system-web-01-2 → ")
    assert first.endswith(" → openssl-3.0.13")
    assert pg.check("web-01", graph, old, pg.policy(["openssl<3.0.14"], []), TODAY).refused == []
    # one finding per path, however many rules deny it
    twice = pg.check("web-01", graph, new, pg.policy(["openssl<3.0.14", "openssl==3.0.13"], []), TODAY)
    assert len(twice.refused) == 2


def test_an_exception_covers_its_hosts_and_versions_until_its_date():
    graph, _old, new = recorded()
    allow = {
        "name": "openssl",
        "version": "==3.0.13",
        "expires": "2026-06-01",
        "reason": "vendor fix pending",
        "hosts": ["web-01"],
    }
    rules = pg.policy(["openssl<3.0.14"], [allow])
    on_day = pg.check("web-01", graph, new, rules, TODAY)
    assert (len(on_day.refused), len(on_day.allowed)) == (0, 2)
    assert (
        on_day.allowed[0]
        .describe()
        .endswith("; allowed by exception for openssl ==3.0.13 until 2026-06-01: vendor fix pending")
    )
    assert on_day.allowed[0].to_dict()["allowed"] == {
        "rule": "openssl ==3.0.13",
        "expires": "2026-06-01",
        "reason": "vendor fix pending",
    }
    other_host = pg.check("web-02", graph, new, rules, TODAY)
    assert (len(other_host.refused), len(other_host.allowed), other_host.expired) == (2, 0, [])
    day_after = pg.check("web-01", graph, new, rules, TODAY + datetime.timedelta(days=1))
    assert (len(day_after.refused), len(day_after.allowed), len(day_after.expired)) == (2, 0, 1)
    narrower = pg.check("web-01", graph, new, pg.policy(["openssl<3.0.14"], [dict(allow, version="==3.0.12")]), TODAY)
    assert len(narrower.refused) == 2


def test_the_deploy_report_shows_the_exceptions_and_a_refused_host():
    finding = {
        "name": "openssl",
        "version": "3.0.13",
        "denied_by": "openssl <3.0.14",
        "allowed": {"rule": "openssl ==3.0.13", "expires": "2026-12-31", "reason": "isolated"},
    }
    gate = {
        "allowed": {"web-01": [finding]},
        "failed_hosts": {"web-02": "web-02: refused before anything was copied: x"},
    }
    switch = {
        "changed": True,
        "path": "/nix/store/%s-nixos-system-web-01-1" % ("a" * 32),
        "generation": 1,
        "action": "switch",
    }
    rows = [
        dr.host_report("web-01", {"nixos_deploy_switch": switch, "nixos_deploy_gate": gate}),
        dr.host_report("web-02", {"nixos_deploy_gate": gate}),
    ]
    text = dr.text(rows)
    assert (
        "Allowed by exception (the deploy gate):\n  web-01: openssl 3.0.13 (denied by openssl <3.0.14) allowed "
        "until 2026-12-31: isolated\n" in text
    )
    assert rows[1].result == "failed" and rows[1].message == "web-02: refused before anything was copied: x"
    assert "## Allowed by exception (the deploy gate)\n\n- **web-01**: openssl 3.0.13" in dr.markdown(rows)
