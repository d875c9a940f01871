"""The knowledge base: its entries, what citizens thought of them, and the maintainers' report."""
