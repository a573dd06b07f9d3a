"""The unit tests' one marker, registered here so that ansible-test's own pytest settings
(`ansible-test units`, --strict-markers) know it too."""

HOST_TOOLS = (
    "host_tools: runs this machine's Nix, age, sops, OpenSSH, nginx or shellcheck, or needs root (what "
    "scripts/setup.sh installs); `nox -s unit` leaves these to the full suite"
)


def pytest_configure(config):
    config.addinivalue_line("markers", HOST_TOOLS)
