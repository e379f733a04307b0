"""Services hold the programme's rules; routes call them, they call the models and the chain's typed clients."""
