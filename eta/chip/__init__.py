"""The passport chip (ICAO 9303 Parts 10 and 11): its data groups, passive authentication, the
CSCA store and the 1:1 match of the traveller's photo against the chip's face.

No Flask here: plain functions over bytes, certificates and the database session.
"""
