"""What the agent remembers outside its weights: record types, the SQLite experience store
(and the transitions read from it), text embeddings, the faiss retrieval and plan memories,
and atomic writes."""
