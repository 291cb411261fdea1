"""analysis stage of wag."""
