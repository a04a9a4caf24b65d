"""What Hugging Face Spaces needs beyond README.md's front matter."""
