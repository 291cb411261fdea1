"""frequency stage of wag."""
