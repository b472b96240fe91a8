"""Edge cases of "upload a new version through a form", driven through the real view.

Every failure must leave nothing behind: no version, no rows, no stored file, no spooled
upload, no audit event. Every success writes exactly one "version.create" event whose
snapshot carries the hashes of the bytes that were sent.
"""
