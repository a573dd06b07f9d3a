"""The fleet's exposure report (module_utils._supply_chain.exposure_report), from hosts' exposure results
written by hand: the chain as store path names, a row per system, the summary of who runs it now,
after the next boot, after a rollback, in an SBOM, and who could not be read; the table and Markdown."""

from ansible_collections.nixfleet.nixos.plugins.module_utils._supply_chain import exposure_report as er

S = "/nix/store/"
NEW = S + "dihyi03kfycrg7ci1nymakrs1wyixw2w-nixos-system-web-01-2"
OLD = S + "r377faswfmbj42h0amx2fxl615iga4rf-nixos-system-web-01-1"
CURL = S + "5rqh4205nl4nypsjyrfxz8nf357ca3sq-curl-8.5.0"
SSL = S + "yxnzzayk16xyxgwszif6q2aafg3i1znz-openssl-3.0.13"
APP = S + "m1a304fqifapd7175dv1a36qwk42p2jg-app-1.0"
BIN = S + "0hr9nzwq720gvcqivay9nxp9ayms3mz7-openssl-3.0.13-bin"

WEB = {  # runs the exposed system; its previous generation (booted) is not exposed
    "host": "web-01",
    "package": "openssl",
    "constraint": "<3.0.14",
    "exposed": True,
    "running_exposed": True,
    "booted_exposed": False,
    "systems": [
        {
            "path": NEW,
            "roles": ["running", "generation 2 (current)"],
            "current": True,
            "generations": [2],
            "versions": ["3.0.13"],
            "matches": [{"chain": [NEW, CURL, SSL]}, {"chain": [NEW, APP, BIN]}],
        },
        {"path": OLD, "roles": ["booted", "generation 1"], "generations": [1], "versions": ["3.0.14"], "matches": []},
    ],
}
DB = {  # exposed only in an older kept generation: a rollback would bring it back
    "host": "db-01",
    "package": "openssl",
    "constraint": "<3.0.14",
    "exposed": True,
    "systems": [
        {"path": OLD, "roles": ["running", "generation 4 (current)"], "current": True, "generations": [4]},
        {"path": NEW, "roles": ["generation 3"], "generations": [3], "matches": [{"chain": [NEW, CURL, SSL]}]},
    ],
}
DOWN = {"host": "cache-01", "error": "unreachable", "systems": []}


def test_why_names_the_store_paths_of_the_chain():
    assert er.why([NEW, CURL, SSL]) == "nixos-system-web-01-2 → curl-8.5.0 → openssl-3.0.13"
    assert er.why(["/s/x"]) == "/s/x"  # too short to hold a hash: as it is


def test_a_row_per_system_and_one_for_a_host_not_read():
    assert er.rows([WEB, DOWN, {"host": "empty"}]) == [
        {
            "host": "web-01",
            "system": "dihyi03k…-nixos-system-web-01-2",
            "in": "running, generation 2 (current)",
            "versions": "3.0.13",
            "match": "YES",
            "why": "nixos-system-web-01-2 → curl-8.5.0 → openssl-3.0.13 (+1 more)",
        },
        {
            "host": "web-01",
            "system": "r377fasw…-nixos-system-web-01-1",
            "in": "booted, generation 1",
            "versions": "3.0.14",
            "match": "no",
            "why": "",
        },
        {"host": "cache-01", "system": "-", "in": "-", "versions": "-", "match": "-", "why": "unreachable"},
        {"host": "empty", "system": "-", "in": "-", "versions": "-", "match": "-", "why": "no system on the host"},
    ]


def test_the_summary_says_when_each_host_runs_it():
    assert er.summary([WEB, DB, DOWN]) == [
        "openssl <3.0.14 running now on 1 of 3 hosts: web-01",
        "openssl <3.0.14 after the next boot (the profile's current generation) on 1 of 3 hosts: web-01",
        "openssl <3.0.14 after a rollback (an older kept generation) on 1 of 3 hosts: db-01",
        "not read: cache-01",
    ]
    sbom = {"host": "img", "package": "curl", "source": "sbom", "exposed": True, "systems": []}
    assert er.summary([sbom]) == ["curl in an SBOM on 1 of 1 hosts: img"]
    clean = {"host": "web-02", "package": "curl", "exposed": False, "systems": []}
    assert er.summary([clean, DOWN]) == ["curl: on none of 2 hosts", "not read: cache-01"]
    assert er.summary([]) == ["no host was scanned"]


def test_the_table_aligns_its_columns_and_ends_with_the_summary():
    assert er.table([DB, DOWN]).splitlines() == [
        "HOST      SYSTEM                           IN                               VERSIONS  MATCH  WHY",
        "db-01     r377fasw…-nixos-system-web-01-1  running, generation 4 (current)  -         no",
        "db-01     dihyi03k…-nixos-system-web-01-2  generation 3                     -         YES    "
        "nixos-system-web-01-2 → curl-8.5.0 → openssl-3.0.13",
        "cache-01  -                                -                                -         -      unreachable",
        "openssl <3.0.14 after a rollback (an older kept generation) on 1 of 2 hosts: db-01",
        "not read: cache-01",
    ]


def test_markdown_escapes_pipes_and_fills_empty_cells():
    piped = {"host": "a|b", "error": "ssh: x|y", "systems": []}
    assert er.markdown([piped, {"host": "web-02", "package": "curl", "systems": [{"path": OLD, "roles": []}]}]) == (
        "# Package exposure\n"
        "\n"
        "| host | system | in | versions | match | why |\n"
        "| --- | --- | --- | --- | --- | --- |\n"
        "| a\\|b | - | - | - | - | ssh: x\\|y |\n"
        "| web-02 | r377fasw…-nixos-system-web-01-1 |   | - | no |   |\n"
        "\n"
        "- curl: on none of 2 hosts\n"
        "- not read: a|b\n"
    )
