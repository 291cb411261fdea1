"""A study: the paper's question asked of your own corpus and models, declared in a profile (``study:``) and run by ``wag study run``."""
