"""Connectors: where an organisation keeps its knowledge (a folder or share, a Git repository, an
IMAP mailbox, an intranet site), synced incrementally into one collection each. `base` says what a
source gives, one module per kind reads it, `sync` turns a listing into added, changed and
deleted documents, and `manager` is what the API and the scheduler call."""
