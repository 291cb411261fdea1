"""synthetic stage of wag."""
