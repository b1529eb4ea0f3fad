"""One eventual service embedded in the web applications Python teams already run."""
