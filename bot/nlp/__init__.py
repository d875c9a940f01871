"""Reading citizens' text with numpy and scikit-learn: search, topics, categories, training, triage."""
