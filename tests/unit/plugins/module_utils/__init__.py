"""The unit tests of module_utils are packages (module_utils._lifecycle.test_copy_lock, ...): each is
named after the module it tests, and a name may also be an integration test's (tests/integration/
test_copy_lock.py), which pytest's default import mode allows only to files in distinct packages."""
