"""The policy check, in the order it works: which policies apply to a file (conditions), which
calls they name (calls), whether the call's surroundings match (context), the rewrite (rewrite);
check.py holds the check itself."""
