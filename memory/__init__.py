"""Memory: the experience store (SQLite), and later pair mining, embeddings and retrieval memory."""
