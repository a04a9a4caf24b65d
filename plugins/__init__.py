"""Built-in visualizations. Each module here is one plugin; drop in a file to add a tab."""
