"""The store engine: metadata, chunk grid, indexing, codecs, arrays. Never imports dask."""
