"""GitHub: the pull request job, review comments with suggestions, posting through github3.py."""
