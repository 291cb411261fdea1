"""evaluate stage of wag."""
