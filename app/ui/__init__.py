"""Streamlit-side helpers shared by the pages: session state, caches, loading, small widgets."""
