"""Mirror tables written only by the indexer from chain events, and the indexer's cursor."""
