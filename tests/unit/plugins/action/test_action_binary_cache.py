"""plugins/action/binary_cache.py: the cache's nginx on a host, in order: status, probes of its
files, directories, files (a new nginx configuration tested before it replaces the old one), start
or reload; a second run changes nothing; check mode and bad settings change nothing."""

import pytest

from ansible_collections.nixfleet.nixos.plugins.module_utils._caches import binary_cache as bc

from action_harness import ActionShell, run_action, said

MARK = "nixfleet-target-file"
SERVER = bc.CacheServer(address="127.0.0.1")
CONF, INFO = SERVER.config, "%s/nix-cache-info" % SERVER.path
ARGS = {"listen_address": "127.0.0.1"}


def status(installed="yes", dirs="yes", how="stopped"):
    return said(stdout="%s %s %s %s\n" % (bc.STATUS_MARK, installed, dirs, how))


def files(present):
    """The file probe's answer for whichever of ``present`` (path: content) it asks about."""

    def answer(operation):
        for path, text in present.items():
            if path in operation.command.text:
                return said(stdout="%s file 0 0 644\n%s" % (MARK, text))
        return said(stdout="%s absent\n" % MARK)

    return answer


def host(how="stopped", dirs="yes", present=None, nginx_test=None):
    return ActionShell(
        {"cache status": status(dirs=dirs, how=how), "file probe": files(present or {})},
        {
            "mktemp": said(),
            "mkdir -p": said(),  # a write (mktemp) also makes its directory
            " -t -q -c ": nginx_test or said(),
            "mv -f": said(),
            "rm -f": said(),
            "-s reload": said(),
            "nginx -c": said(),
            "systemctl": said(),
        },
    )


def test_a_new_cache_is_set_up_in_order():
    shell = host(dirs="no")
    result = run_action("binary_cache", ARGS, shell)
    assert not result.get("failed"), result
    assert result["changes"] == [
        "create %s and %s" % (SERVER.path, SERVER.state_dir),
        "write %s" % INFO,
        "write %s" % CONF,
        "start nginx",
    ]
    assert shell.names() == [
        "cache status",
        "file probe",
        "file probe",
        "mkdir -p",
        "mktemp",
        "mktemp",
        " -t -q -c ",
        "mv -f",
        "nginx -c",
    ]
    assert all(privileged for _name, privileged in shell.performed)
    assert "%s.nixfleet-new" % CONF in shell.texts[3]  # nginx -t reads the candidate, not the live file
    assert shell.stdins[1] == SERVER.cache_info() and shell.stdins[2] == SERVER.nginx_config()
    assert result["url"] == "http://127.0.0.1:%d" % SERVER.port and result["changed"] is True


def test_everything_in_place_and_running_is_unchanged():
    shell = host(how="running", present={INFO: SERVER.cache_info(), CONF: SERVER.nginx_config()})
    result = run_action("binary_cache", ARGS, shell)
    assert result["changed"] is False and result["changes"] == []
    assert shell.names() == ["cache status", "file probe", "file probe"]


def test_a_changed_configuration_reloads_and_shows_in_the_diff():
    old = "# an older configuration\n"
    shell = host(how="running", present={INFO: SERVER.cache_info(), CONF: old})
    result = run_action("binary_cache", dict(ARGS, port=8081), shell, diff=True)
    assert result["changes"] == ["write %s" % CONF, "reload nginx"]
    assert result["diff"]["before"] == old and "8081" in result["diff"]["after"]
    assert shell.names()[-1] == "-s reload"


def test_under_systemd_the_unit_is_written_and_restarted():
    shell = host(how="systemd", dirs="no")
    result = run_action("binary_cache", ARGS, shell)
    assert "write /etc/systemd/system/%s.service" % bc.UNIT in result["changes"]
    assert shell.names()[-1] == "systemctl" and "systemctl restart %s" % bc.UNIT in shell.texts[-1]


def test_check_mode_reads_only():
    shell = host(dirs="no")
    result = run_action("binary_cache", ARGS, shell, check_mode=True)
    assert result["changed"] is True and len(result["changes"]) == 4
    assert shell.names() == ["cache status", "file probe", "file probe"]


def test_a_configuration_nginx_rejects_is_removed_and_nothing_starts():
    shell = host(nginx_test=said(rc=1, stderr="nginx: [emerg] unknown directive\n"))
    result = run_action("binary_cache", ARGS, shell)
    assert result["failed"] is True
    assert "nginx rejects the cache's configuration; nothing was changed" in result["msg"] and "web" in result["msg"]
    assert shell.names()[-2:] == [" -t -q -c ", "rm -f"] and "mv -f" not in shell.names()


def test_nginx_missing_is_named():
    shell = ActionShell({"cache status": status(installed="no")})
    result = run_action("binary_cache", ARGS, shell)
    assert result["failed"] is True and "nginx is not installed on the host" in result["msg"]
    assert shell.names() == ["cache status"]


@pytest.mark.parametrize(
    "args, message",
    [
        ({"listen_address": "cache.example.org"}, "listen_address"),
        ({"listen_address": "127.0.0.1", "port": 70000}, "port 70000 is out of range"),
        ({"listen_address": "127.0.0.1", "upload_allow": ["10.0.0.0/33"]}, "upload_allow"),
    ],
)
def test_bad_settings_change_nothing(args, message):
    shell = ActionShell()
    result = run_action("binary_cache", args, shell)
    assert result["failed"] is True and "invalid binary cache settings: " in result["msg"] and message in result["msg"]
    assert shell.performed == []
