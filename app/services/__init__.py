"""Services hold the programme's rules; routes call them, they call repositories and the chain gateway."""
