"""Identity: the traveller's facial photo, its quality gate, and face templates for screening.

No Flask here: plain functions over images, bytes and the database session, as in screening.
"""
