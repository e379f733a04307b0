"""Everything that talks to the chain: compiled artifacts, deployment, typed data, Merkle trees."""
