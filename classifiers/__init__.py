"""Classification: category, emergency and VIP flags, place and responsible station."""
