"""ILS: the real-time backend between eye-care practices and prescription-lens labs."""
