"""The governance pages: request detail and decisions, opening requests from the version
page, archive, aliases, risk class, emergency rollback, the approval queue with its live
count, and the access page. Every view and action gets the permission matrix."""
