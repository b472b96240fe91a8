"""Pickle scanning of uploaded artifacts (issue 13: a scan that fails closed).

The hostile pickles are written opcode by opcode or with pickle.dumps (which never runs
what it writes); nothing in these tests, or in Attest, ever unpickles them. The shared
fixtures (the scan job run in process, the owner's client) are in conftest.py, the hostile
files and upload helpers in helpers.py.
"""
