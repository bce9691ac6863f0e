"""Usage and billing warehouse for 360dialog partners."""
