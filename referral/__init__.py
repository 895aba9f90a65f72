"""The referral-and-response engine (routes patients between facilities). Built in its own issue.

It may import the record store's public API (``ece.store``, ``ece.reads``); ``ece`` never imports it.
"""
