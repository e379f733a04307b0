"""The pages: their static files (static/) and what the server generates for them."""
